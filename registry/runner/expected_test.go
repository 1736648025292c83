package runner

import (
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestRunKeepsExpected: a passed case carries its expected output beside
// the actual one, as a failed case does; a case that expects a throw has
// none.
func TestRunKeepsExpected(t *testing.T) {
	for _, tc := range []struct {
		name, script, test string
		status             registry.CaseStatus
		expected, actual   string
	}{
		{"passed", "add.js", `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`, registry.CasePassed, `{"sum": 3}`, `{"sum":3}`},
		{"failed", "add.js", `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`, registry.CaseFailed, `{"sum": 4}`, `{"sum":3}`},
		{"no expected output", "add.js", `{"input": {"a": 1, "b": 2}}`, registry.CasePassed, ``, `{"sum":3}`},
		{"a throw expected", "throw.js", `{"input": {"name": "DataError"}, "should_fail": true}`, registry.CasePassed, ``, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(newCase(t, tc.script, tc.test), time.Second)
			if r.Status != tc.status || string(r.Expected) != tc.expected || string(r.Actual) != tc.actual {
				t.Errorf("got %s, expected %s, actual %s; want %s, %s, %s", r.Status, r.Expected, r.Actual, tc.status, tc.expected, tc.actual)
			}
		})
	}
}
