package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// problem is one line of validate's report.
type problem struct {
	path      string
	line, col int
	msg       string
	warning   bool // printed, but no reason to fail
}

// String is PATH:LINE:COL: message, as a load error prints itself.
func (p problem) String() string {
	s := (&registry.LoadError{Path: p.path, Line: p.line, Column: p.col}).Location()
	if p.warning {
		s += ": warning"
	}
	return s + ": " + p.msg
}

// runValidate loads the paths as serve would and prints every problem.
// The exit code is for CI: 0 valid, 1 problems, 2 usage.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "PATH ...", "Loads each task folder, task .zip or collection as serve would and prints\nevery problem as PATH:LINE:COL: message, then a summary. Exit status: 0 when\nevery task is valid, 1 when any problem was found, 2 on a usage error.")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	if len(paths) == 0 {
		return usageError(fs, errors.New("no PATH: give the task folders, zips or collections to check"), stdout, stderr)
	}
	snap, problems := loadPaths(ctx, paths)
	warnings := testWarnings(snap)
	for _, p := range sortProblems(append(slices.Clone(problems), warnings...)) {
		fmt.Fprintln(stdout, p)
	}
	summary := plural(len(problems), "problem")
	if len(warnings) > 0 {
		summary += ", " + plural(len(warnings), "warning")
	}
	fmt.Fprintf(stdout, "%s, %s valid; %s\n", plural(snap.TaskCount(), "task"), plural(snap.VersionCount(), "version"), summary)
	if len(problems) > 0 {
		return 1
	}
	return 0
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// loadPaths loads paths as serve would and lists every problem, sorted:
// load errors, conflicts, paths that cannot be read.
func loadPaths(ctx context.Context, paths []string) (*registry.Snapshot, []problem) {
	reg := registry.New(time.Now, nil)
	var problems []problem
	var sources []registry.Source
	quiet := slog.New(slog.DiscardHandler) // every problem is printed below
	loader := taskformat.NewLoader()
	for i, p := range paths {
		src, err := pathEntry(p).Config.Open(i, source.Deps{Loader: loader, Watch: watcher.Config{Mode: watcher.ModeOff}, Log: quiet})
		if err != nil {
			problems = append(problems, problem{path: p, msg: err.Error()})
			continue
		}
		sources = append(sources, src)
	}
	if err := registry.LoadOnce(ctx, reg, sources...); err != nil {
		problems = append(problems, problem{msg: err.Error()})
	}
	snap := reg.Snapshot()
	for _, e := range snap.Errors() {
		problems = append(problems, problem{path: e.Path, line: e.Line, col: e.Column, msg: e.Message()})
	}
	for _, c := range snap.Conflicts() {
		problems = append(problems, problem{path: c.Path, msg: c.Message()})
	}
	return snap, sortProblems(problems)
}

// printWarnings prints the warnings of the tasks in snap as validate
// prints them, for the commands that publish what validate checks: a test
// file left out of a bundle (a symlink that leads outside, a FIFO) must
// not go unsaid. It returns the summary's addition, "" for none.
func printWarnings(w io.Writer, snap *registry.Snapshot) string {
	warnings := sortProblems(testWarnings(snap))
	for _, p := range warnings {
		fmt.Fprintln(w, p)
	}
	if len(warnings) == 0 {
		return ""
	}
	return "; " + plural(len(warnings), "warning") + " (above)"
}

// testWarnings lists the problems in test files of the tasks served: a
// case that cannot run is worth a line, not a failed build, since the task
// itself is fine and `test` fails on that case anyway.
func testWarnings(snap *registry.Snapshot) []problem {
	var out []problem
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			for _, w := range t.Warnings {
				out = append(out, problem{path: w.Path, line: w.Line, col: w.Column, msg: w.Message(), warning: true})
			}
		}
	}
	return out
}

func sortProblems(problems []problem) []problem {
	slices.SortFunc(problems, func(a, b problem) int {
		return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col), cmp.Compare(a.msg, b.msg))
	})
	return problems
}
