package taskformat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

// TestTestFileProblemsAreWarnings checks that whatever is wrong with a
// test file is a warning on that case, at its place, and that the task
// loads all the same.
func TestTestFileProblemsAreWarnings(t *testing.T) {
	good := taskFiles(id1, "1.0.0")
	tests := []struct {
		name      string
		test      string // tests/one.json
		line, col int
		kind      registry.Kind
		msg       string
	}{
		{"bad JSON", "{\"input\": }", 1, 11, registry.KindSyntax, "invalid JSON"},
		{"not an object", "[1]", 1, 1, registry.KindInvalid, "want a JSON object"},
		{"no input", `{"expected_output": {}}`, 1, 1, registry.KindInvalid, `test case has no "input": it runs with {}`},
		{"input against the schema", "{\"input\": {\"a\": \"one\"}}", 1, 17, registry.KindTest, "input does not match input.schema.json: at /a"},
		{"output against the schema", `{"input": {}, "expected_output": 5}`, 1, 34, registry.KindTest, "expected_output does not match"},
		{"expected against the schema", `{"input": {}, "expected": 5}`, 1, 27, registry.KindTest, "expected does not match output.schema.json"},
		{"camel case key", "{\"input\": {},\n  \"expectedOutput\": {}}", 2, 3, registry.KindInvalid, `unknown key "expectedOutput" is ignored, the case runs without it: did you mean "expected_output"?`},
		{"misspelt key", "{\"input\": {}, \"expected_ouput\": {}}", 1, 15, registry.KindInvalid, `unknown key "expected_ouput" is ignored, the case runs without it: did you mean "expected_output"?`},
		{"unknown key far from any", `{"input": {}, "zzz": 1}`, 1, 15, registry.KindInvalid, `unknown key "zzz" is ignored, the case runs without it`},
		{"should_fail not a boolean", `{"input": {}, "should_fail": "yes"}`, 1, 30, registry.KindInvalid, `"should_fail" must be true or false`},
		{"expected_error not a string", `{"input": {}, "expected_error": 3}`, 1, 33, registry.KindInvalid, `"expected_error" must be a string`},
		{"nested too deep", "{\"input\": {\"a\": " + strings.Repeat("[", 5000), 1, 17 + MaxNesting - 2, registry.KindSyntax, "JSON nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, good.With("tests/one.json", tc.test))
			s := loadDir(t, dir)
			task, ok := s.Task(id1, "1.0.0")
			if !ok {
				t.Fatalf("the task did not load:\n%s", sourcetest.Listing(s))
			}
			if len(s.Errors()) != 0 {
				t.Errorf("got errors %v, want none", s.Errors())
			}
			if len(task.Warnings) != 1 {
				t.Fatalf("got warnings %v, want one", task.Warnings)
			}
			w := task.Warnings[0]
			wantPath := filepath.Join(dir, "tests", "one.json")
			if w.Path != wantPath || w.Line != tc.line || w.Column != tc.col || w.Kind != tc.kind || !w.Warning() {
				t.Errorf("got %s %s %s:%d:%d, want WARNING %s %s:%d:%d (%v)", w.Level(), w.Kind, w.Path, w.Line, w.Column, tc.kind, wantPath, tc.line, tc.col, w)
			}
			if !strings.Contains(w.Message(), tc.msg) {
				t.Errorf("got message %q, want it to contain %q", w.Message(), tc.msg)
			}
			cases, err := NewContent(1 << 20).Tests(task)
			if err != nil {
				t.Fatal(err)
			}
			// Advice leaves the case running; any other warning keeps it
			// from running.
			carried := cases[0].Problems
			if w.Advice {
				carried = cases[0].Advice
			}
			if len(cases) != 1 || cases[0].Name != "tests/one.json" || len(carried) != 1 || carried[0] != w ||
				len(cases[0].Problems)+len(cases[0].Advice) != 1 {
				t.Errorf("got cases %+v, want tests/one.json carrying the warning", cases)
			}
			if runs := strings.Contains(tc.msg, "runs"); w.Advice != runs {
				t.Errorf("got advice %v, want %v: %v", w.Advice, runs, w)
			}
		})
	}
}

// TestTestCaseShapes reads upstream's later shapes of a test file.
func TestTestCaseShapes(t *testing.T) {
	tests := []struct {
		name          string
		test          string
		expected      string
		shouldFail    bool
		expectedError string
		mock          bool
	}{
		{"expected_output", `{"input": {"a": 1}, "expected_output": {"b": 2}}`, `{"b": 2}`, false, "", false},
		{"expected as a synonym", `{"input": {"a": 1}, "expected": {"b": 2}}`, `{"b": 2}`, false, "", false},
		{"should_fail", `{"input": {"a": 1}, "should_fail": true}`, "", true, "", false},
		{"expected_error implies should_fail", `{"input": {"a": 1}, "expected_error": "ValidationError"}`, "", true, "ValidationError", false},
		{"mock", `{"input": {"a": 1}, "mock": {"http": {"url": "https://x", "response": {}}}}`, "", false, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, taskFiles(id1, "1.0.0").With("tests/one.json", tc.test))
			s := loadDir(t, dir)
			task, ok := s.Task(id1, "1.0.0")
			if !ok || len(task.Warnings) != 0 {
				t.Fatalf("task loaded %v with warnings %v:\n%s", ok, task, sourcetest.Listing(s))
			}
			cases, err := NewContent(1 << 20).Tests(task)
			if err != nil || len(cases) != 1 {
				t.Fatalf("got %v, %v; want one case", cases, err)
			}
			c := cases[0]
			if string(c.ExpectedOutput) != tc.expected || c.ShouldFail != tc.shouldFail || c.ExpectedError != tc.expectedError || (c.Mock != nil) != tc.mock || string(c.Input) != `{"a": 1}` {
				t.Errorf("got %+v", c)
			}
		})
	}
}

// TestTestFileNameNotUTF8 used to fail the whole task.
func TestTestFileNameNotUTF8(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0"))
	if err := os.WriteFile(filepath.Join(dir, "tests", "bad\xff.json"), []byte(`{"input": {}}`), 0o644); err != nil {
		t.Skipf("this filesystem refuses a name that is not UTF-8: %v", err)
	}
	s := loadDir(t, dir)
	task, ok := s.Task(id1, "1.0.0")
	if !ok {
		t.Fatalf("the task did not load:\n%s", sourcetest.Listing(s))
	}
	if len(task.Warnings) != 1 || !strings.Contains(task.Warnings[0].Message(), "not valid UTF-8") {
		t.Errorf("got warnings %v, want one on the name", task.Warnings)
	}
	if got := task.TestFiles(); len(got) != 1 || got[0] != "tests/one.json" {
		t.Errorf("got test files %v, want the good one kept", got)
	}
}
