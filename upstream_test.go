package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestUpstreamTrees runs task trees written in upstream Ratchet's format
// (testdata/upstream) through test and validate.
func TestUpstreamTrees(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		// upstream's sample/js-tasks: a stale, test-less addition.zip of the
		// same uuid and version beside the folder tasks/addition. The folder
		// is served and its four cases run; before, the zip won by path
		// order and no case ran.
		{"folder beats a stale archive", []string{"test", "testdata/upstream/js-tasks"}, 1,
			"testdata/upstream/js-tasks/addition.zip: conflict: task bd6c6f98-4896-44cc-8c82-30328c3aefda version 1.0.0 is also at testdata/upstream/js-tasks/tasks/addition, which is served: give one of them a new uuid; `ratchet-registry new --uuid` prints one\n" +
				"4 cases in 1 task: 4 passed, 0 failed; 1 problem loading\n"},
		// upstream's later formats: a task with a name and no uuid, a test
		// file without input, one with should_succeed, mocks without url or
		// method, HttpError(status, message), DataError's default message,
		// a misspelt description. Each is a warning; every case runs.
		{"later formats: warnings", []string{"validate", "testdata/upstream/later"}, 0,
			`testdata/upstream/later/registry-task/metadata.json:2:11: warning: no "uuid": the task's identity is derived from its name, 9d7f8954-ea01-5ef6-9e31-f066f38d602b (UUIDv5 of "addition"); write "uuid": "9d7f8954-ea01-5ef6-9e31-f066f38d602b" to keep it when the name changes
testdata/upstream/later/weather-api/metadata.json:5:3: warning: unknown key "descripton" is ignored: did you mean "description"?
testdata/upstream/later/weather-api/tests/test-002-no-input.json:1:1: warning: test case has no "input": it runs with {}
testdata/upstream/later/weather-api/tests/test-003-should-succeed.json:3:3: warning: unknown key "should_succeed" is ignored, the case runs without it: did you mean "should_fail"? ("should_succeed": false is "should_fail": true)
2 tasks, 2 versions valid; 0 problems, 4 warnings
`},
		{"later formats: every case runs", []string{"test", "testdata/upstream/later"}, 0, `testdata/upstream/later/registry-task/metadata.json:2:11: warning: no "uuid": the task's identity is derived from its name, 9d7f8954-ea01-5ef6-9e31-f066f38d602b (UUIDv5 of "addition"); write "uuid": "9d7f8954-ea01-5ef6-9e31-f066f38d602b" to keep it when the name changes
testdata/upstream/later/weather-api/metadata.json:5:3: warning: unknown key "descripton" is ignored: did you mean "description"?
testdata/upstream/later/weather-api/tests/test-002-no-input.json:1:1: warning: test case has no "input": it runs with {}
testdata/upstream/later/weather-api/tests/test-003-should-succeed.json:3:3: warning: unknown key "should_succeed" is ignored, the case runs without it: did you mean "should_fail"? ("should_succeed": false is "should_fail": true)
6 cases in 2 tasks: 6 passed, 0 failed; 4 warnings (above)
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.stdout {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), tc.stdout, stderr.String())
			}
		})
	}
}

// TestNewUUID: the conflict message says that `new --uuid` prints a uuid;
// it does, and writes nothing.
func TestNewUUID(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"new", "--uuid"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if _, err := uuid.Parse(strings.TrimSpace(stdout.String())); err != nil {
		t.Errorf("got %q, want a uuid", stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"new", "--uuid", "name"}, &stdout, &stderr); code != 2 {
		t.Errorf("--uuid with a NAME: exit %d, want 2", code)
	}
}
