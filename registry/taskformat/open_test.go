package taskformat

import (
	"bytes"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestLoadFromAnyFS: a task held in an fs.FS with no OS paths (as a git
// tree is) or in a zip in memory (as an OCI layer is) loads, is found by
// Discover with the rules of the filesystem walk, and serves its lazy
// content checked against the digest taken at load.
func TestLoadFromAnyFS(t *testing.T) {
	task := taskFiles(id1, "1.0.0")
	tree := fstest.MapFS{}
	for name, content := range mergeFiles(task.Under("tasks/a"), task.Under(".hidden/b"), task.Under("tasks/a/nested")) {
		tree[name] = &fstest.MapFile{Data: []byte(content)}
	}
	zipData := zipBytes(t, task.Under("pkg"))
	tree["tasks/z.zip"] = &fstest.MapFile{Data: zipData}
	if got, bad := Discover(tree, "."); len(bad) != 0 || len(got) != 2 || got[0] != "tasks/a" || got[1] != "tasks/z.zip" {
		t.Fatalf("got roots %q, want tasks/a and tasks/z.zip", got)
	}

	sub := fstest.MapFS{}
	for name, content := range task {
		sub[name] = &fstest.MapFile{Data: []byte(content)}
	}
	tests := []struct {
		name     string
		load     func(Root) registry.RootResult
		wantPath string
	}{
		{"fs.FS", func(r Root) registry.RootResult { return NewLoader().LoadFS(r, sub) }, "repo/tasks/a/main.js"},
		{"zip bytes", func(r Root) registry.RootResult {
			return NewLoader().LoadZip(r, bytes.NewReader(zipData), int64(len(zipData)))
		}, "repo/tasks/a!/pkg/main.js"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.load(Root{Source: "s", Key: "tasks/a", Display: "repo/tasks/a"})
			if res.Task == nil {
				t.Fatalf("not loaded: %v", res.Errors)
			}
			content := NewContent(1 << 20)
			if script, err := content.Script(res.Task); err != nil || script != task["main.js"] {
				t.Errorf("got script %q, %v", script, err)
			}
			if cases, err := content.Tests(res.Task); err != nil || len(cases) != 1 {
				t.Errorf("got tests %v, %v", cases, err)
			}
			if tc.name != "fs.FS" {
				return
			}
			// A file changed after the load is refused, not served as the
			// task's; a broken one is an error beneath the display path.
			sub["main.js"] = &fstest.MapFile{Data: []byte("(function(")}
			defer func() { sub["main.js"] = &fstest.MapFile{Data: []byte(task["main.js"])} }()
			var changed *ErrChanged
			if _, err := NewContent(1 << 20).Script(res.Task); !errors.As(err, &changed) {
				t.Errorf("got %v, want ErrChanged", err)
			}
			res = tc.load(Root{Source: "s", Key: "tasks/a", Display: "repo/tasks/a"})
			if len(res.Errors) != 1 || res.Errors[0].Path != tc.wantPath || res.Errors[0].Kind != registry.KindSyntax {
				t.Errorf("got %v, want a syntax error on %s", res.Errors, tc.wantPath)
			}
		})
	}
}
