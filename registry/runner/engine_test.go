package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// These cases are harmless, so they run in this process: the semantics of
// the engine, apart from the sandbox.
func TestRunSemantics(t *testing.T) {
	for _, tc := range []struct {
		name, script, test string
		status             registry.CaseStatus
		message            string
	}{
		{"key order and number form do not matter", "fetch.js",
			`{"input": {"url": "https://api.example.com/u/1"}, "mock": {"http": {"url": "https://api.example.com/u/1", "method": "GET", "response": {"b": 1, "a": 10}}},
			  "expected_output": {"body": {"a": 10.0, "b": 1}, "ok": true, "status": 200}}`, registry.CasePassed, ""},
		{"mock matched by substring", "fetch.js",
			`{"input": {"url": "https://api.example.com/u/1?x=2"}, "mock": {"http": {"url": "api.example.com/u/1", "response": {"a": 1}}},
			  "expected_output": {"body": {"a": 1}, "ok": true, "status": 200}}`, registry.CasePassed, ""},
		{"mock for another method", "fetch.js",
			`{"input": {"url": "https://api.example.com/u", "method": "POST"}, "mock": {"http": {"url": "https://api.example.com/u", "method": "GET", "response": {}}}}`,
			registry.CaseError, "threw NetworkError: no mock for POST https://api.example.com/u"},
		{"401 throws AuthenticationError", "fetch.js",
			`{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {"status": 401, "body": {}}}}, "expected_error": "AuthenticationError"}`,
			registry.CasePassed, ""},
		{"403 throws AuthorizationError", "fetch.js",
			`{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {"status": 403}}}}`, registry.CaseError, "threw AuthorizationError: HTTP 403 Forbidden"},
		{"429 throws RateLimitError", "fetch.js",
			`{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {"status": 429}}}}`, registry.CaseError, "threw RateLimitError"},
		{"503 throws ServiceUnavailableError", "fetch.js",
			`{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {"status": 503}}}}`, registry.CaseError, "threw ServiceUnavailableError"},
		{"404 throws HttpError", "fetch.js",
			`{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {"status": 404}}}}`, registry.CaseError, "threw HttpError: HTTP 404 Not Found"},
		{"a status in the response is kept", "fetch.js",
			`{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {"status": 201, "body": {"id": 7}}}},
			  "expected_output": {"status": 201, "ok": true, "body": {"id": 7}}}`, registry.CasePassed, ""},
		{"should_fail passes on a throw", "throw.js", `{"input": {"name": "ValidationError"}, "should_fail": true}`, registry.CasePassed, ""},
		{"expected_error matches the message", "throw.js", `{"input": {"name": "DataError"}, "expected_error": "went wrong"}`, registry.CasePassed, ""},
		{"expected_error that does not match", "throw.js", `{"input": {"name": "DataError"}, "expected_error": "TimeoutError"}`,
			registry.CaseFailed, `threw DataError: it went wrong, want an error containing "TimeoutError"`},
		{"should_fail but returned", "add.js", `{"input": {"a": 1, "b": 2}, "should_fail": true}`, registry.CaseFailed, "returned instead of throwing"},
		{"missing key in output", "add.js", `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3, "product": 2}}`,
			registry.CaseFailed, "expected_output differs at /product: got nothing, want 2"},
		{"unknown key in the test file: a warning, the case runs", "add.js", `{"input": {"a": 1, "b": 2}, "expected_ouput": {"sum": 4}}`, registry.CasePassed, ""},
		{"test file not JSON", "add.js", `{"input": `, registry.CaseError, "invalid JSON"},
		{"no input runs with {}", "add.js", `{"expected_output": {"sum": 3}}`, registry.CaseFailed, `expected_output differs at /sum: got null, want 3`},
		{"input against the schema", "add.js", `{"input": 3}`, registry.CaseError, "input does not match input.schema.json"},
		{"output against the schema", "number.js", `{"input": {}}`, registry.CaseFailed, "output does not match output.schema.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(newCase(t, tc.script, tc.test), time.Second)
			if r.Status != tc.status || !strings.Contains(r.Message, tc.message) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Message, tc.status, tc.message)
			}
		})
	}
}

func TestRunThrowPosition(t *testing.T) {
	r := Run(newCase(t, "undefined_throw.js", `{"input": {}}`), time.Second)
	if r.Line != 2 || r.Column == 0 {
		t.Errorf("got %d:%d, want line 2 and a column", r.Line, r.Column)
	}
	r = Run(newCase(t, "syntax.js", `{"input": {}}`), time.Second)
	if r.Line != 2 {
		t.Errorf("syntax error at %d:%d, want line 2", r.Line, r.Column)
	}
}
