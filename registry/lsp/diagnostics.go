package lsp

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// diagSource names the server in every diagnostic.
const diagSource = "ratchet-registry"

// codeConflict is the code of a task version found twice; the load
// errors' codes are their kinds, the verdicts' their case status.
const codeConflict = "CONFLICT"

// maxDiagnostics bounds the load problems shown in one file, and codeLimit
// is the code of the diagnostic that counts the rest. Placing each costs a
// walk of its line: a metadata.json of one line with 5,000 misspelt keys
// made 5,000 walks of up to 60 KB, and an editor shows no more anyway. The
// loader lists as many and one warning that counts the rest, which is
// shown; this bound holds should anything else add to a file's list.
const (
	maxDiagnostics = taskformat.MaxProblemsPerFile + 1
	codeLimit      = "LIMIT"
)

// publish sends the diagnostics of every file of r: its load errors and
// warnings, its conflict, its test verdicts. A file that had diagnostics
// and has none now gets an empty list, so that the editor clears it.
func (w *workspace) publish(r *root) {
	byPath := map[string][]protocol.Diagnostic{}
	if !r.removed {
		w.diagnose(r, byPath)
	}
	paths := make([]string, 0, len(byPath)+len(r.published))
	for p := range byPath {
		paths = append(paths, p)
	}
	for p := range r.published {
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	next := map[string]string{}
	for _, p := range paths {
		uri := w.uri(p)
		if was, ok := r.published[p]; ok && was != uri {
			// Published under another spelling before the editor named
			// the file its own way: cleared there.
			w.s.notify(protocol.ServerTextDocumentPublishDiagnostics, protocol.PublishDiagnosticsParams{URI: was, Diagnostics: []protocol.Diagnostic{}})
		}
		diags := byPath[p]
		if diags == nil {
			diags = []protocol.Diagnostic{}
		} else {
			next[p] = uri
		}
		params := protocol.PublishDiagnosticsParams{URI: uri, Diagnostics: diags}
		if d, ok := w.docs[p]; ok {
			v := protocol.UInteger(max(d.version, 0))
			params.Version = &v
		}
		w.s.notify(protocol.ServerTextDocumentPublishDiagnostics, params)
	}
	r.published = next
}

// diagnose gathers r's diagnostics by the path of the file they are in.
func (w *workspace) diagnose(r *root, byPath map[string][]protocol.Diagnostic) {
	texts := map[string]string{}
	text := func(p string) string {
		t, ok := texts[p]
		if !ok {
			t = w.text(r, p)
			texts[p] = t
		}
		return t
	}
	problems := r.res.Errors
	if r.res.Task != nil {
		problems = r.res.Task.Warnings
	}
	dropped := map[string]int{}
	for _, e := range problems {
		p := w.filePath(r, e.File)
		if len(byPath[p]) >= maxDiagnostics {
			dropped[p]++
			continue
		}
		unit := unitRunes
		if e.File == "main.js" && e.Kind == registry.KindSyntax && strings.HasPrefix(e.Message(), "JavaScript syntax error") {
			unit = unitBytes // goja's parser counts bytes
		}
		t := text(p)
		off := offsetOfLineCol(t, e.Line, e.Column, unit)
		sev := protocol.DiagnosticSeverityError
		if e.Level() == registry.SeverityWarning {
			sev = protocol.DiagnosticSeverityWarning
		}
		end := off
		if e.Line > 0 {
			end = tokenEnd(t, off)
		}
		byPath[p] = append(byPath[p], diagnostic(t, off, end, sev, string(e.Kind), e.Message()))
	}
	for p, n := range dropped {
		byPath[p] = append(byPath[p], diagnostic(text(p), 0, 0, protocol.DiagnosticSeverityWarning, codeLimit,
			fmt.Sprintf("%d more problems in this file are not shown: the first %d are (the limit)", n, maxDiagnostics)))
	}
	if c, ok := w.conflict(r); ok {
		p := filepath.Join(r.dir, "metadata.json")
		if r.zip {
			p = r.dir
		}
		t := text(p)
		from, to, _ := valueSpan(t, "uuid")
		byPath[p] = append(byPath[p], diagnostic(t, from, to, protocol.DiagnosticSeverityError, codeConflict, c.Message()))
	}
	if r.verdict != nil && !r.zip {
		w.verdictDiagnostics(r, text, byPath)
	}
}

// filePath is where a problem with a file of r is shown: the file, or the
// metadata.json of a folder for a problem with the task as a whole, or
// the archive itself.
func (w *workspace) filePath(r *root, file string) string {
	switch {
	case r.zip:
		return r.dir
	case file == "":
		return filepath.Join(r.dir, "metadata.json")
	}
	return filepath.Join(r.dir, filepath.FromSlash(file))
}

func diagnostic(text string, from, to int, sev protocol.DiagnosticSeverity, code, msg string) protocol.Diagnostic {
	src := diagSource
	return protocol.Diagnostic{Range: rangeOf(text, from, to), Severity: &sev,
		Code: &protocol.IntegerOrString{Value: code}, Source: &src, Message: msg}
}

// verdictDiagnostics places the cases that did not pass: on the test file
// at the key that decides the case, and, for an error thrown in main.js,
// in main.js where the engine saw it. A case that could not run because
// its file is broken is already a warning of the load.
func (w *workspace) verdictDiagnostics(r *root, text func(string) string, byPath map[string][]protocol.Diagnostic) {
	v := r.verdict
	for i, res := range v.results {
		c := v.cases[i]
		if res.Status == registry.CasePassed || c.Problem != "" {
			continue
		}
		p := filepath.Join(r.dir, filepath.FromSlash(c.File))
		t := text(p)
		from, to := 0, 0
		for _, k := range decidingKeys(c.ShouldFail) {
			if f, e, ok := valueSpan(t, k); ok {
				from, to = f, e
				break
			}
		}
		msg := caseMessage(res)
		byPath[p] = append(byPath[p], diagnostic(t, from, to, protocol.DiagnosticSeverityError, string(res.Status), msg))
		if res.Line > 0 {
			mp := filepath.Join(r.dir, "main.js")
			mt := text(mp)
			off := offsetOfLineCol(mt, res.Line, res.Column, unitBytes)
			byPath[mp] = append(byPath[mp], diagnostic(mt, off, tokenEnd(mt, off), protocol.DiagnosticSeverityError,
				string(res.Status), c.File+": "+res.Message))
		}
	}
}

// decidingKeys are the keys of a test file that decide its case, in the
// order a failure is placed at the first present.
func decidingKeys(shouldFail bool) []string {
	if shouldFail {
		return []string{"expected_error", "should_fail", "input"}
	}
	return []string{"expected_output", "expected", "input"}
}

// caseMessage says why a case did not pass: the first difference, then
// what was expected and what came back.
func caseMessage(res registry.CaseResult) string {
	msg := res.Message
	switch res.Status {
	case registry.CaseTimeout:
		if msg == "" {
			msg = "timeout"
		}
		msg = "test timed out: " + msg
	case registry.CaseError:
		msg = "test error: " + msg
	default:
		msg = "test failed: " + msg
	}
	if len(res.Expected) > 0 {
		msg += "\nexpected: " + truncate(string(res.Expected), 300)
	}
	if len(res.Actual) > 0 {
		msg += "\nactual:   " + truncate(string(res.Actual), 300)
	}
	return msg
}

// passedTitle is the code lens of a case that passed.
func passedTitle(res registry.CaseResult) string {
	ms := res.Duration.Milliseconds()
	if ms < 1 {
		return "passed in <1 ms"
	}
	return fmt.Sprintf("passed in %d ms", ms)
}
