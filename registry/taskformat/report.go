package taskformat

import (
	"cmp"
	"slices"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Problem is one line of a report on tasks, as a compiler prints it:
// PATH:LINE:COL: message (validate, test, index and push print them).
type Problem struct {
	Path      string
	Line, Col int
	Msg       string
	Warning   bool // printed, but no reason to fail
}

// String is PATH:LINE:COL: message, as a load error prints itself.
func (p Problem) String() string {
	s := (&registry.LoadError{Path: p.Path, Line: p.Line, Column: p.Col}).Location()
	if p.Warning {
		s += ": warning"
	}
	return s + ": " + p.Msg
}

// Problems lists the load errors and the conflicts of a snapshot.
func Problems(snap *registry.Snapshot) []Problem {
	var out []Problem
	for _, e := range snap.Errors() {
		out = append(out, Problem{Path: e.Path, Line: e.Line, Col: e.Column, Msg: e.Message()})
	}
	for _, c := range snap.Conflicts() {
		out = append(out, Problem{Path: c.Path, Msg: c.Message()})
	}
	return out
}

// Warnings lists the problems in test files of the tasks served: a case
// that cannot run is worth a line, not a failed build, since the task
// itself is fine and `test` fails on that case anyway.
func Warnings(snap *registry.Snapshot) []Problem {
	var out []Problem
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			for _, w := range t.Warnings {
				out = append(out, Problem{Path: w.Path, Line: w.Line, Col: w.Column, Msg: w.Message(), Warning: true})
			}
		}
	}
	return out
}

// SortProblems sorts problems by place, then message, and returns them.
func SortProblems(problems []Problem) []Problem {
	slices.SortFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	return problems
}
