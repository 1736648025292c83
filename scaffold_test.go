package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat/taskschema"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// runCmd runs the program in the test's process and returns its exit code
// and everything it printed.
func runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out watchertest.Log
	code := run(t.Context(), args, &out, &out)
	return code, out.String()
}

func readMetadata(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNewThenValidate: a new task is valid as written, with a fresh UUID
// each time, its test passes, and its next version sits beside it without
// a conflict.
func TestNewThenValidate(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "my-first_task"), filepath.Join(dir, "tasks", "other")
	if code, out := runCmd(t, "new", first, "--description", "Says hello."); code != 0 {
		t.Fatalf("new: exit %d\n%s", code, out)
	}
	if code, out := runCmd(t, "new", second); code != 0 {
		t.Fatalf("new in a folder that does not exist yet: exit %d\n%s", code, out)
	}
	m := readMetadata(t, first)
	if _, err := uuid.Parse(m["uuid"]); err != nil || m["version"] != "0.1.0" || m["label"] != "My first task" || m["description"] != "Says hello." {
		t.Errorf("got metadata %v, want a UUID, 0.1.0, the label from the name and the description", m)
	}
	if other := readMetadata(t, second); other["uuid"] == m["uuid"] || other["label"] != "Other" {
		t.Errorf("got %v and %v: want two UUIDs and the label Other", m, other)
	}
	for _, f := range []string{"input.schema.json", "output.schema.json"} {
		if data, err := os.ReadFile(filepath.Join(first, f)); err != nil || !strings.Contains(string(data), `"$schema"`) {
			t.Errorf("%s: got %v, want a schema that names its $schema", f, err)
		}
	}
	if code, out := runCmd(t, "validate", dir); code != 0 || !strings.HasSuffix(out, "2 tasks, 2 versions valid; 0 problems\n") {
		t.Errorf("validate after new: exit %d\n%s", code, out)
	}

	next := filepath.Join(dir, "my-first_task-1.1.0")
	if code, out := runCmd(t, "new", "--from", first, "--version", "1.1.0"); code != 0 || !strings.Contains(out, next) {
		t.Fatalf("new --from: exit %d\n%s", code, out)
	}
	if got := readMetadata(t, next); got["uuid"] != m["uuid"] || got["version"] != "1.1.0" || got["label"] != m["label"] {
		t.Errorf("got %v, want %v at 1.1.0", got, m)
	}
	if got := readMetadata(t, first); got["version"] != "0.1.0" {
		t.Errorf("the original changed: %v", got)
	}
	if code, out := runCmd(t, "validate", dir); code != 0 || !strings.HasSuffix(out, "2 tasks, 3 versions valid; 0 problems\n") {
		t.Errorf("validate after new --from: exit %d\n%s", code, out)
	}
	// And the test case that new writes passes, in the copy too.
	if code, out := runCmd(t, "test", dir); code != 0 || !strings.Contains(out, "3 cases in 2 tasks (3 versions): 3 passed, 0 failed") {
		t.Errorf("test after new: exit %d\n%s", code, out)
	}
}

// TestNewFrom: where the copy goes, and that only the version changes.
func TestNewFrom(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples/greet", filepath.Join(dir, "greet"))
	copyTree(t, "examples/add", filepath.Join(dir, "add"))
	tests := []struct {
		name string
		args []string
		want string // the folder written
	}{
		{"folder named after its version", []string{"--from", filepath.Join(dir, "greet", "1.1.0"), "--version", "1.2.0"}, filepath.Join(dir, "greet", "1.2.0")},
		{"folder named after the task", []string{"--version", "2.0.0", "--from", filepath.Join(dir, "add")}, filepath.Join(dir, "add-2.0.0")},
		{"NAME given", []string{"--from", filepath.Join(dir, "add"), filepath.Join(dir, "sum"), "--version", "3.0.0-rc.1"}, filepath.Join(dir, "sum")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := runCmd(t, append([]string{"new"}, tc.args...)...); code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			from := tc.args[slices.Index(tc.args, "--from")+1]
			for _, f := range []string{"main.js", "input.schema.json", "output.schema.json"} {
				a, errA := os.ReadFile(filepath.Join(from, f))
				b, errB := os.ReadFile(filepath.Join(tc.want, f))
				if errA != nil || errB != nil || string(a) != string(b) {
					t.Errorf("%s: not copied as it was (%v, %v)", f, errA, errB)
				}
			}
			before, _ := os.ReadFile(filepath.Join(from, "metadata.json"))
			after, _ := os.ReadFile(filepath.Join(tc.want, "metadata.json"))
			version := tc.args[slices.Index(tc.args, "--version")+1]
			old := readMetadata(t, from)["version"]
			if want := strings.Replace(string(before), `"`+old+`"`, `"`+version+`"`, 1); string(after) != want {
				t.Errorf("metadata.json: got\n%s\nwant only the version changed:\n%s", after, want)
			}
		})
	}
	if code, out := runCmd(t, "validate", dir); code != 0 {
		t.Errorf("validate: exit %d\n%s", code, out)
	}
}

// TestNewFromLink: --from a symlink copies the task the link points to,
// as serve loads it (links inside the task followed while they stay in
// it); a link that leads out of the task, or nowhere, is refused with
// exit 1 and nothing written. Before, the copy was an empty folder, exit 0.
func TestNewFromLink(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, task string) // changes the task before the copy
		wantCode int
		want     string // in the output
	}{
		{"link to a task folder", func(*testing.T, string) {}, 0, "wrote"},
		{"link inside the task, to a file in it", func(t *testing.T, task string) {
			symlink(t, "small.json", filepath.Join(task, "tests", "again.json"))
		}, 0, "wrote"},
		{"link inside the task, leading out", func(t *testing.T, task string) {
			outside := filepath.Join(filepath.Dir(filepath.Dir(task)), "secret.json")
			if err := os.WriteFile(outside, []byte(`{"input":{}}`), 0o644); err != nil {
				t.Fatal(err)
			}
			symlink(t, outside, filepath.Join(task, "tests", "stolen.json"))
		}, 1, "stolen.json is a symbolic link that leads outside the task folder"},
		{"dangling link", func(t *testing.T, task string) {
			if err := os.RemoveAll(task); err != nil {
				t.Fatal(err)
			}
		}, 1, "is not a task folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			task := filepath.Join(dir, "store", "add")
			copyTree(t, "examples/add", task)
			tc.setup(t, task)
			link := filepath.Join(dir, "work", "add")
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, task, link)
			code, out := runCmd(t, "new", "--from", link, "--version", "2.0.0")
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Fatalf("got exit %d\n%s\nwant %d with %q", code, out, tc.wantCode, tc.want)
			}
			dst := filepath.Join(dir, "work", "add-2.0.0")
			if tc.wantCode != 0 {
				if _, err := os.Lstat(dst); !os.IsNotExist(err) {
					t.Errorf("a refused copy left %s behind: %v", dst, err)
				}
				return
			}
			if code, out := runCmd(t, "validate", task, dst); code != 0 || !strings.Contains(out, "1 task, 2 versions valid; 0 problems") {
				t.Errorf("validate the original and the copy: exit %d\n%s", code, out)
			}
			// The copy holds every file the original serves, as files.
			for _, f := range []string{"main.js", "input.schema.json", "output.schema.json", "tests/small.json"} {
				a, errA := os.ReadFile(filepath.Join(task, f))
				b, errB := os.ReadFile(filepath.Join(dst, f))
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					t.Errorf("%s: not copied as it was (%v, %v)", f, errA, errB)
				}
			}
			if got := readMetadata(t, dst)["version"]; got != "2.0.0" {
				t.Errorf("got version %q, want 2.0.0", got)
			}
			if _, err := os.Lstat(filepath.Join(task, "tests", "again.json")); err == nil {
				if st, err := os.Lstat(filepath.Join(dst, "tests", "again.json")); err != nil || !st.Mode().IsRegular() {
					t.Errorf("the link inside the task: got %v, %v, want a regular file in the copy", st, err)
				}
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestNewRefuses: nothing existing is overwritten, and wrong arguments say
// what is wrong.
func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	taken := filepath.Join(dir, "taken")
	if err := os.MkdirAll(taken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(taken, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyTree(t, "examples/add", filepath.Join(dir, "add"))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"existing folder", []string{taken}, 1, "already exists: nothing written"},
		{"existing version folder", []string{"--from", filepath.Join(dir, "add"), "--version", "1.0.0", taken}, 1, "already version 1.0.0"},
		{"copy onto an existing folder", []string{"--from", filepath.Join(dir, "add"), "--version", "1.1.0", taken}, 1, "already exists"},
		{"no NAME", nil, 2, "no NAME"},
		{"two NAMEs", []string{"a", "b"}, 2, "one NAME at a time"},
		{"leading v", []string{filepath.Join(dir, "x"), "--version", "v1.0.0"}, 2, "no leading v"},
		{"--from without --version", []string{"--from", filepath.Join(dir, "add")}, 2, "--from needs --version"},
		{"--from a folder that is no task", []string{"--from", taken, "--version", "1.0.0"}, 1, "is not a task folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCmd(t, append([]string{"new"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(out, tc.want) {
				t.Errorf("got exit %d\n%s\nwant %d with %q", code, out, tc.wantCode, tc.want)
			}
		})
	}
	entries, err := os.ReadDir(taken)
	if err != nil || len(entries) != 1 {
		t.Errorf("the existing folder changed: %v, %v", entries, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Errorf("a refused new left %s behind: %v", filepath.Join(dir, "x"), err)
	}
}

// TestSchemasCommand: the files written are the embedded schemas, and a
// task that `new` writes satisfies them, so an editor shows it clean.
func TestSchemasCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "editor", "schemas")
	if code, text := runCmd(t, "schemas", out); code != 0 {
		t.Fatalf("exit %d\n%s", code, text)
	}
	task := filepath.Join(dir, "hello")
	if code, text := runCmd(t, "new", task); code != 0 {
		t.Fatalf("exit %d\n%s", code, text)
	}
	tests := []struct{ schema, file string }{
		{"metadata", filepath.Join(task, "metadata.json")},
		{"test", filepath.Join(task, "tests", "greets-by-name.json")},
	}
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(out, tc.schema+".schema.json"))
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := taskschema.File(tc.schema + ".json"); string(data) != string(want) {
				t.Errorf("%s.schema.json is not the embedded schema", tc.schema)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			c := jsonschema.NewCompiler()
			if err := c.AddResource("s.json", doc); err != nil {
				t.Fatal(err)
			}
			s, err := c.Compile("s.json")
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(f))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(v); err != nil {
				t.Errorf("%s from new: %v", tc.file, err)
			}
		})
	}
	if code, text := runCmd(t, "schemas"); code != 2 || !strings.Contains(text, "no DIR") {
		t.Errorf("schemas without DIR: exit %d\n%s", code, text)
	}
}
