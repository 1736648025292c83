package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// CaseStatus is the outcome of one test case; part of the GraphQL API.
type CaseStatus string

// The outcomes of a case.
const (
	CasePassed  CaseStatus = "PASSED"
	CaseFailed  CaseStatus = "FAILED"  // the task answered, wrongly
	CaseError   CaseStatus = "ERROR"   // it threw, crashed, or the case itself is bad
	CaseTimeout CaseStatus = "TIMEOUT" // it ran past the wall-time limit
)

// VerdictStatus sums up a task's cases; part of the GraphQL API.
type VerdictStatus string

// The states of a verdict.
const (
	VerdictNone    VerdictStatus = "NONE"    // the task has no tests, or tests are off
	VerdictPending VerdictStatus = "PENDING" // queued or running
	VerdictPassed  VerdictStatus = "PASSED"
	VerdictFailed  VerdictStatus = "FAILED"
)

// CaseResult is what one test file's case did.
type CaseResult struct {
	File     string          `json:"file"` // "tests/basic.json"
	Status   CaseStatus      `json:"status"`
	Message  string          `json:"message,omitempty"` // one line
	Expected json.RawMessage `json:"expected,omitempty"`
	Actual   json.RawMessage `json:"actual,omitempty"`
	Duration time.Duration   `json:"duration"`
	// Line and Column place an error thrown in main.js, when the engine
	// knows where; 0 otherwise.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

// Capped returns c with its message cut to at most msg bytes, and its
// expected and actual values dropped when either is over raw bytes (a cut
// JSON value is no value), each with a note in the message that says so;
// the notes count in msg, which must leave them room (a few hundred
// bytes), so that capping twice cuts nothing more. A verdict travels into
// every answer and every verdict file: what a script throws or returns
// must not grow it without end.
func (c CaseResult) Capped(msg, raw int) CaseResult {
	var notes string
	if len(c.Actual) > raw {
		notes += fmt.Sprintf(" (actual: %s over the %s limit, not kept)", SizeString(int64(len(c.Actual))), SizeString(int64(raw)))
		c.Actual = nil
	}
	if len(c.Expected) > raw {
		notes += fmt.Sprintf(" (expected: %s over the %s limit, not kept)", SizeString(int64(len(c.Expected))), SizeString(int64(raw)))
		c.Expected = nil
	}
	c.Message = Truncate(c.Message, msg-len(notes), msg)
	c.Message += notes
	return c
}

// Truncate cuts a message to at most keep bytes, on a rune boundary,
// ending with a note that gives its size and the limit it was over
// (limit: at least keep, which leaves the caller room for what it adds).
func Truncate(s string, keep, limit int) string {
	if len(s) <= keep {
		return s
	}
	note := fmt.Sprintf("… (truncated: %s message over the %s limit)", SizeString(int64(len(s))), SizeString(int64(limit)))
	n := max(keep-len(note), 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + note
}

// SizeString writes a byte count the way limits are written: 12 MiB,
// 8 KiB, 300 bytes.
func SizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// Verdict is the result of running every case of one task version. It is
// kept by the digest of the files it depends on (TestDigest), so that only
// a change to those runs the cases again.
type Verdict struct {
	Digest   string
	Status   VerdictStatus
	Cases    []CaseResult
	Duration time.Duration // the cases' run time, summed
}

// Passed counts the cases that passed.
func (v *Verdict) Passed() int {
	n := 0
	for _, c := range v.Cases {
		if c.Status == CasePassed {
			n++
		}
	}
	return n
}

// Failed counts the cases that did not pass, whatever the reason.
func (v *Verdict) Failed() int { return len(v.Cases) - v.Passed() }

// NewVerdict sums cases up: PASSED when every one passed.
func NewVerdict(digest string, cases []CaseResult) *Verdict {
	v := &Verdict{Digest: digest, Status: VerdictPassed, Cases: cases}
	for _, c := range cases {
		v.Duration += c.Duration
		if c.Status != CasePassed {
			v.Status = VerdictFailed
		}
	}
	return v
}

// same reports whether two verdicts would be shown alike, durations aside:
// a re-run with the same outcome is not a change.
func (v *Verdict) same(o *Verdict) bool {
	if v == nil || o == nil {
		return v == o
	}
	return v.Status == o.Status && slices.EqualFunc(v.Cases, o.Cases, func(a, b CaseResult) bool {
		return a.File == b.File && a.Status == b.Status && a.Message == b.Message &&
			string(a.Expected) == string(b.Expected) && string(a.Actual) == string(b.Actual)
	})
}

// Verdict is the verdict shown for a task version: the one kept for its
// test files as they are now, PENDING while they wait for a run, NONE
// when it has no tests or nothing runs them.
func (s *Snapshot) Verdict(t *Task) *Verdict {
	if len(t.TestFiles()) == 0 {
		return &Verdict{Digest: t.TestDigest, Status: VerdictNone}
	}
	if v, ok := s.verdicts.Get(t.identity()); ok && v.Digest == t.TestDigest {
		return v
	}
	if s.testing {
		return &Verdict{Digest: t.TestDigest, Status: VerdictPending}
	}
	return &Verdict{Digest: t.TestDigest, Status: VerdictNone}
}

// EnableVerdicts says that a runner makes verdicts from now on: tasks with
// tests show PENDING until theirs arrive.
func (r *Registry) EnableVerdicts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.republish(func(next *Snapshot) { next.testing = true })
}

// Swapped is poked (without blocking, one poke held) after each load that
// swapped in a new snapshot, so that a runner can look for tasks to test
// without following the feed.
func (r *Registry) Swapped() <-chan struct{} { return r.swapped }

func (r *Registry) poke() {
	select {
	case r.swapped <- struct{}{}:
	default:
	}
}

// SetVerdict records the verdict of a task version's tests. It is dropped
// when the version served now has other test files than v was made from
// (they changed while it ran); a verdict shown alike to the one shown
// already changes nothing. Otherwise the next snapshot carries it and the
// feed gets VERDICT_CHANGED. It reports whether it swapped.
func (r *Registry) SetVerdict(t *Task, v *Verdict) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.cur.Load()
	served, ok := prev.Task(t.ID, t.Version)
	if !ok || served.TestDigest != v.Digest {
		return false
	}
	shown := prev.Verdict(served)
	if shown.Digest == v.Digest && shown.same(v) {
		return false
	}
	next := *prev
	next.Generation = prev.Generation + 1
	id := served.identity()
	if old, ok := prev.verdicts.Get(id); ok {
		next.sum.toggle(verdictSum(id, old))
	}
	next.sum.toggle(verdictSum(id, v))
	next.verdicts = prev.verdicts.Set(id, v)
	r.swap(&next, []Event{{Kind: VerdictChanged, ID: served.ID, Version: served.Version, Task: served}})
	return true
}
