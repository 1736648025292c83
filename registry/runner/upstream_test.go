package runner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestUpstreamErrorClasses: the ten classes take upstream's arguments
// (HttpError is new HttpError(status, message), the others new E(message))
// and have upstream's default messages (ratchet-js's JS_ERROR_CONFIGS).
func TestUpstreamErrorClasses(t *testing.T) {
	want := map[string]string{
		"AuthenticationError": "Authentication failed", "AuthorizationError": "Authorization failed",
		"NetworkError": "Network error", "HttpError": "HTTP error", "ValidationError": "Validation error",
		"ConfigurationError": "Configuration error", "RateLimitError": "Rate limit exceeded",
		"ServiceUnavailableError": "Service unavailable", "TimeoutError": "Timeout error", "DataError": "Data error",
	}
	if len(errorClasses) != len(want) {
		t.Fatalf("got %d classes, want %d", len(errorClasses), len(want))
	}
	type row struct {
		name, test, expected string
	}
	var rows []row
	for _, c := range errorClasses {
		rows = append(rows, row{c.Name + " default", fmt.Sprintf(`{"name": %q, "args": []}`, c.Name),
			fmt.Sprintf(`{"name": %q, "message": %q, "status": "none", "isError": true, "isOwn": true}`, c.Name, want[c.Name])})
	}
	rows[3].expected = `{"name": "HttpError", "message": "HTTP error", "status": "none", "isError": true, "isOwn": true}`
	rows = append(rows,
		row{"HttpError(status, message)", `{"name": "HttpError", "args": [404, "Not found"]}`,
			`{"name": "HttpError", "message": "Not found", "status": 404, "isError": true, "isOwn": true}`},
		row{"HttpError(status) has the default message", `{"name": "HttpError", "args": [500]}`,
			`{"name": "HttpError", "message": "HTTP error", "status": 500, "isError": true, "isOwn": true}`},
		row{"NetworkError(message)", `{"name": "NetworkError", "args": ["down"]}`,
			`{"name": "NetworkError", "message": "down", "status": "none", "isError": true, "isOwn": true}`},
	)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			res := Run(newCase(t, "upstream_errors.js", `{"input": `+r.test+`, "expected_output": `+r.expected+`}`), time.Second)
			if res.Status != registry.CasePassed {
				t.Errorf("got %s %q (actual %s), want PASSED", res.Status, res.Message, res.Actual)
			}
		})
	}
}

// TestUpstreamMocks: a mock without url (or with an empty one) answers any
// request; a mock without method answers GET only. Before, a mock needed a
// url, and one without method answered every method.
func TestUpstreamMocks(t *testing.T) {
	for _, tc := range []struct {
		name, test string
		status     registry.CaseStatus
		message    string
	}{
		{"no url matches any", `{"input": {"url": "https://api.example.com/a?b=c"}, "mock": {"http": {"method": "GET", "response": {"x": 1}}},
			"expected_output": {"body": {"x": 1}, "ok": true, "status": 200}}`, registry.CasePassed, ""},
		{"empty url matches any", `{"input": {"url": "https://other.example/"}, "mock": {"http": {"url": "", "response": {"x": 2}}},
			"expected_output": {"body": {"x": 2}, "ok": true, "status": 200}}`, registry.CasePassed, ""},
		{"no method answers GET", `{"input": {"url": "https://x/"}, "mock": {"http": {"url": "https://x/", "response": {}}},
			"expected_output": {"body": {}, "ok": true, "status": 200}}`, registry.CasePassed, ""},
		{"no method does not answer POST", `{"input": {"url": "https://x/", "method": "POST"}, "mock": {"http": {"url": "https://x/", "response": {}}}}`,
			registry.CaseError, "threw NetworkError: no mock for POST https://x/"},
		{"a 404 throws HttpError with its status first", `{"input": {"url": "https://x/"}, "mock": {"http": {"response": {"status": 404}}}, "expected_error": "HTTP 404 Not Found"}`,
			registry.CasePassed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(newCase(t, "fetch.js", tc.test), time.Second)
			if r.Status != tc.status || !strings.Contains(r.Message, tc.message) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Message, tc.status, tc.message)
			}
		})
	}
}

// TestUpstreamTestFileKeys: keys upstream writes that the runner does not
// read are advice: the case still runs, and the warning says what to write.
func TestUpstreamTestFileKeys(t *testing.T) {
	for _, tc := range []struct {
		name, test, advice string
		status             registry.CaseStatus
	}{
		{"should_succeed", `{"input": {"a": 1, "b": 1}, "should_succeed": true, "expected_output": {"sum": 2}}`,
			`unknown key "should_succeed" is ignored, the case runs without it: did you mean "should_fail"? ("should_succeed": false is "should_fail": true)`, registry.CasePassed},
		{"assertions", `{"input": {"a": 1, "b": 1}, "assertions": [{"path": "sum", "equals": 2}]}`,
			`unknown key "assertions" is ignored, the case runs without it: did you mean "expected_output"? (the whole output is compared with it)`, registry.CasePassed},
		{"mock_http", `{"input": {"a": 1, "b": 1}, "mock_http": {}}`, `unknown key "mock_http" is ignored, the case runs without it: did you mean "mock": {"http": ...}?`, registry.CasePassed},
		{"a typo", `{"input": {"a": 1, "b": 1}, "expectedOutput": {"sum": 2}}`, `unknown key "expectedOutput" is ignored, the case runs without it: did you mean "expected_output"?`, registry.CasePassed},
		{"no input", `{"expected_output": {"sum": null}}`, `test case has no "input": it runs with {}`, registry.CasePassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parsed := loadCase(t, tc.test)
			if len(parsed.Problems) != 0 || len(parsed.Advice) != 1 || parsed.Advice[0].Message() != tc.advice || !parsed.Advice[0].Advice {
				t.Errorf("got problems %v advice %v, want the one advice %q", parsed.Problems, parsed.Advice, tc.advice)
			}
			if r := Run(newCase(t, "add.js", tc.test), time.Second); r.Status != tc.status {
				t.Errorf("got %s %q, want %s", r.Status, r.Message, tc.status)
			}
		})
	}
}
