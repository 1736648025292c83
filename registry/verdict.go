package registry

import (
	"encoding/json"
	"slices"
	"time"
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
		next.vsum.toggle(verdictSum(id, old))
	}
	next.vsum.toggle(verdictSum(id, v))
	next.verdicts = prev.verdicts.Set(id, v)
	r.swap(&next, []Event{{Kind: VerdictChanged, ID: served.ID, Version: served.Version, Task: served}})
	return true
}
