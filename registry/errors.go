package registry

import (
	"errors"
	"fmt"
	"strconv"
)

// Kind classifies a load error so that clients can group and filter them.
type Kind string

// The kinds of load error. They are part of the GraphQL API: do not rename.
const (
	KindSyntax  Kind = "SYNTAX"  // malformed JSON or JavaScript
	KindInvalid Kind = "INVALID" // well-formed but wrong: bad uuid, version, label, test shape
	KindMissing Kind = "MISSING" // a required file is absent
	KindSchema  Kind = "SCHEMA"  // a JSON Schema that does not compile
	KindTest    Kind = "TEST"    // a test case that its task's schemas reject
	KindArchive Kind = "ARCHIVE" // an unsafe, corrupt or oversized zip
	KindIO      Kind = "IO"      // a file that cannot be read
	KindFetch   Kind = "FETCH"   // an HTTP source or bundle that could not be fetched
)

// Severity says whether a problem keeps its task out of the catalogue.
type Severity string

// The severities. They are part of the GraphQL API: do not rename.
const (
	SeverityError   Severity = "ERROR"   // the task is not served (or only its last good version, stale)
	SeverityWarning Severity = "WARNING" // the task is served; one of its test cases cannot be used
)

// LoadError is the one typed error for a bad task file. It names the file
// as a user would open it, with line and column where known (0 otherwise).
type LoadError struct {
	Source string // name of the source that found it
	Root   string // task root key inside the source ("." for a source that is one task)
	Path   string // display path of the file: "tasks/add/metadata.json", "tasks/x.zip!/x/main.js"
	File   string // file relative to the task root: "metadata.json"
	Line   int
	Column int
	Kind   Kind
	Err    error
	// Severity is SeverityWarning for a problem in a test file, which never
	// drops its task; empty means SeverityError.
	Severity Severity
	// Advice marks a warning that leaves everything running: its test case
	// still runs (an unknown key, no input), or it is about metadata.json
	// (a misspelt optional key, a uuid derived from the name). A warning
	// without it makes its case an ERROR.
	Advice bool
}

// Warning reports a problem that leaves its task served.
func (e *LoadError) Warning() bool { return e.Severity == SeverityWarning }

// Level is the severity, SeverityError when none was set.
func (e *LoadError) Level() Severity {
	if e.Severity == "" {
		return SeverityError
	}
	return e.Severity
}

func (e *LoadError) Error() string { return e.Location() + ": " + e.Message() }

// Unwrap gives errors.Is and errors.As the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// Message is the cause alone, without the location.
func (e *LoadError) Message() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return e.Err.Error()
}

// Location is PATH, PATH:LINE or PATH:LINE:COL, as compilers print it.
func (e *LoadError) Location() string {
	s := e.Path
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
		if e.Column > 0 {
			s += ":" + strconv.Itoa(e.Column)
		}
	}
	return s
}

// logAttrs are the error's attributes for a log line. Line and column are
// left out where there is no position, rather than logged as 0, which
// reads as a place.
func (e *LoadError) logAttrs() []any {
	attrs := []any{"source", e.Source, "path", e.Path}
	if e.Line > 0 {
		attrs = append(attrs, "line", e.Line)
		if e.Column > 0 {
			attrs = append(attrs, "column", e.Column)
		}
	}
	attrs = append(attrs, "kind", e.Kind, "error", e.Message())
	// A library's crash is a bug to report upstream: the log keeps where
	// it happened, which the author's message leaves out.
	var pe *PanicError
	if errors.As(e.Err, &pe) {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	return attrs
}

// same reports whether two errors would be shown identically; reloads that
// produce the same errors must not count as a change.
func (e *LoadError) same(o *LoadError) bool {
	return e.Source == o.Source && e.Root == o.Root && e.Path == o.Path && e.Line == o.Line &&
		e.Column == o.Column && e.Kind == o.Kind && e.Level() == o.Level() && e.Advice == o.Advice && e.Message() == o.Message()
}

// Conflict records a task version found twice. Which copy is served: on a
// cold start the first in the fixed order (sources in configuration order;
// within a source a folder before an archive; then task roots lexically);
// on a reload the copy already served keeps its place. The others are
// reported here.
type Conflict struct {
	ID      string
	Version string
	Source  string // the source of the copy that lost
	Path    string // the copy that lost
	Winner  string // the copy served
}

// Message says what the conflict is and what to do, as validate prints it
// after the losing copy's path.
func (c Conflict) Message() string {
	return fmt.Sprintf("conflict: task %s version %s is also at %s, which is served: give one of them a new uuid; `ratchet-registry new --uuid` prints one",
		c.ID, c.Version, c.Winner)
}

func (c Conflict) String() string { return c.Path + ": " + c.Message() }
