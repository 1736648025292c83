package fssource

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// upstreamAddition is upstream Ratchet's sample task folder
// tasks/addition, in upstream's format, with its four test cases.
func upstreamAddition(id string) map[string]string {
	return map[string]string{
		"metadata.json":       `{"uuid": "` + id + `", "version": "1.0.0", "label": "Addition Task", "description": "This task adds two numbers together"}`,
		"input.schema.json":   `{"type": "object", "properties": {"num1": {"type": "number"}, "num2": {"type": "number"}}, "required": ["num1", "num2"]}`,
		"output.schema.json":  `{"type": "object", "properties": {"sum": {"type": "number"}}, "required": ["sum"]}`,
		"main.js":             "(function(input) {\n  const {num1, num2} = input;\n  return { sum: num1 + num2 };\n})\n",
		"tests/test-001.json": `{"input": {"num1": 5, "num2": 10}, "expected_output": {"sum": 15}}`,
		"tests/test-002.json": `{"input": {"num1": -5, "num2": 10}, "expected_output": {"sum": 5}}`,
		"tests/test-003.json": `{"input": {"num1": 0, "num2": 0}, "expected_output": {"sum": 0}}`,
		"tests/test-004.json": `{"input": {"num1": 2.5, "num2": 1.5}, "expected_output": {"sum": 4}}`,
	}
}

// TestCopiedFolderKeepsOriginal: a task folder copied without a new uuid,
// into a path that sorts first, while the server runs. The original keeps
// its place (no TASK_UPDATED), the copy is a conflict with its own event,
// and an edit of the original still shows. Before, the copy replaced the
// original live and the feed said only TASK_UPDATED.
func TestCopiedFolderKeepsOriginal(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(upstreamAddition(id1)).Under("tasks/addition"))
	l := startService(t, watcher.ModeFsnotify, dir)
	original := filepath.Join(dir, "tasks", "addition")

	copied := mergeFiles(upstreamAddition(id1)).With("main.js", "(function(input) { return { sum: 0 }; })\n")
	writeTree(t, dir, copied.Under("tasks/addition-copy")) // "tasks/addition-copy" > "tasks/addition"
	writeTree(t, dir, copied.Under("tasks/a-copy"))        // sorts first
	es := l.events(t, func(e Event) bool {
		return e.Kind == registry.ConflictRaised && e.Conflict.Path == filepath.Join(dir, "tasks", "a-copy")
	})
	s := l.reg.Snapshot()
	if got, _ := s.Task(id1, "1.0.0"); got.Path != original {
		t.Fatalf("got %s served, want the original %s\n%s", got.Path, original, sourcetest.Listing(s))
	}
	for _, e := range es {
		if e.Kind == TaskUpdated {
			t.Errorf("got %s: the copy replaced what is served", kinds(es))
		}
	}
	last := es[len(es)-1]
	if last.Conflict.Winner != original || last.Conflict.Source != "s0" || last.Task == nil || last.Task.Path != original {
		t.Errorf("got conflict %+v with task %v, want the original served", *last.Conflict, last.Task)
	}
	if s.ConflictCount() != 2 {
		t.Errorf("got %d conflicts, want 2: %v", s.ConflictCount(), s.Conflicts())
	}

	// An edit of the original is an update of the copy served.
	write(t, filepath.Join(original, "metadata.json"), `{"uuid": "`+id1+`", "version": "1.0.0", "label": "Edited", "description": "d"}`)
	l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
	if got, _ := l.reg.Snapshot().Task(id1, "1.0.0"); got.Path != original || got.Label != "Edited" {
		t.Fatalf("after an edit, got %s %q served, want the original, edited", got.Path, got.Label)
	}

	// The original gone, the first copy in the fixed order is served.
	if err := os.RemoveAll(original); err != nil {
		t.Fatal(err)
	}
	es = l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
	if got, _ := l.reg.Snapshot().Task(id1, "1.0.0"); got.Path != filepath.Join(dir, "tasks", "a-copy") {
		t.Errorf("got %s served after the original went (events %s), want tasks/a-copy", got.Path, kinds(es))
	}
}
