package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPublishWarnsAsValidate: index and push leave out of their bundles
// the test files that validate warns about (here a symlink that leads
// outside the folder), and say so, on stderr, in validate's own words.
// Before, both dropped the files without a word.
func TestPublishWarnsAsValidate(t *testing.T) {
	dir := t.TempDir()
	task := filepath.Join(dir, "add")
	copyTree(t, "examples/add", task)
	outside := filepath.Join(dir, "elsewhere.json")
	if err := os.WriteFile(outside, []byte(`{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(task, "tests", "linked.json"))

	code, out := runCmd(t, "validate", task)
	warning := regexp.MustCompile(`(?m)^.*linked\.json: warning: .*$`).FindString(out)
	if code != 0 || warning == "" || !strings.Contains(warning, "outside") {
		t.Fatalf("validate: exit %d\n%s\nwant exit 0 and a warning about linked.json", code, out)
	}
	reg := startOCIRegistry(t)
	tests := []struct {
		name    string
		args    []string
		summary string // on stdout
	}{
		{"index", []string{"index", task, "--out", filepath.Join(dir, "out")}, "with 1 bundle; 1 warning (above)"},
		{"push", []string{"push", "--plain-http", task, reg.addr + "/acme/tasks:1"}, "1 uploaded, 0 already there; 1 warning (above)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(t.Context(), tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), warning+"\n") {
				t.Errorf("stderr:\n%s\nwant validate's warning:\n%s", stderr.String(), warning)
			}
			if !strings.Contains(stdout.String(), tc.summary) {
				t.Errorf("stdout: %q, want %q", stdout.String(), tc.summary)
			}
		})
	}
}
