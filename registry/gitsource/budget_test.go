package gitsource

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// copies is a task whose tests/ holds n files of one content: one blob in
// git, named n times by the tree, so that the repository stays small
// however much loading it reads.
func copies(id string, n, size int) registrytest.Files {
	f := registrytest.Task(id, "1.0.0")
	body := fmt.Sprintf(`{"input": {"a": 1}, "expected_output": {}, "pad": %q}`, strings.Repeat("x", size))
	for i := range n {
		f[fmt.Sprintf("tests/c%03d.json", i)] = body
	}
	return f
}

// TestReadBudgets: a task whose tree names one blob many times reads it
// each time, and each read counts: over the budget per task the task is a
// load error naming the budget while the others load; over the budget per
// load the load stops and the source says so, instead of reading on.
func TestReadBudgets(t *testing.T) {
	srv := newGitServer(t, "")
	for _, tc := range []struct {
		name           string
		files          registrytest.Files
		maxTask, limit int64
		sourceErr      string // on the source
		taskErr        string // on the task of ID1
		served         int    // tasks served
	}{
		{"over the budget per task", registrytest.Merge(copies(registrytest.ID1, 100, 64<<10).Under("tasks/big"),
			registrytest.Task(registrytest.ID2, "1.0.0").Under("tasks/small")),
			1 << 20, 0, "", "reads over 1048576 bytes, the budget per task of a git source (max_task_bytes)", 1},
		{"over the budget per load", registrytest.Merge(copies(registrytest.ID1, 20, 64<<10).Under("tasks/a"),
			copies(registrytest.ID2, 20, 64<<10).Under("tasks/b")),
			0, 2 << 20, "reads over 2097152 bytes, the budget per load of a git source (max_load_bytes); nothing of this commit is served", "", 0},
		{"within both", registrytest.Merge(copies(registrytest.ID1, 10, 64<<10).Under("tasks/a"),
			copies(registrytest.ID2, 10, 64<<10).Under("tasks/b")),
			1 << 20, 2 << 20, "", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			r := newRepo(t, srv.root, name)
			r.write(tc.files)
			r.commit("copies")
			run := start(t, Config{URL: srv.url(name), Path: "tasks", MaxTaskBytes: tc.maxTask, MaxLoadBytes: tc.limit})
			snap := run.waitFor(t, "the first load", func(s *registry.Snapshot) bool { return s.Ready() })
			st := snap.Sources()[0]
			if !strings.Contains(st.Error, tc.sourceErr) || (tc.sourceErr == "") != (st.Error == "") {
				t.Errorf("source error: got %q, want %q", st.Error, tc.sourceErr)
			}
			if tc.sourceErr != "" && st.Status != registry.StatusError {
				t.Errorf("source status: got %s, want %s", st.Status, registry.StatusError)
			}
			if got := snap.TaskCount(); got != tc.served {
				t.Errorf("tasks served: got %d, want %d; errors: %v", got, tc.served, snap.Errors())
			}
			var found []string
			for _, e := range snap.Errors() {
				if e.Root == "big" && e.Level() == registry.SeverityError {
					found = append(found, e.Error())
				}
			}
			if tc.taskErr != "" && (len(found) != 1 || !strings.Contains(found[0], tc.taskErr)) {
				t.Errorf("errors on the task: got %q, want one with %q", found, tc.taskErr)
			}
		})
	}
}
