package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestRunAllStreams: RunAll (the test command) reads each case as a worker runs
// it, as serve does, so a task of many large test files is never held at
// once: the heap grows by much less than its cases while they run one at
// a time.
func TestRunAllStreams(t *testing.T) {
	const n, size = 16, 512 << 10
	files := registrytest.Files{
		"metadata.json":      `{"uuid": "` + registrytest.ID1 + `", "version": "1.0.0", "label": "large"}`,
		"input.schema.json":  `{"type": "object"}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            "(function(input) { return {n: input.s.length}; })",
	}
	for i := range n {
		files[fmt.Sprintf("tests/c%02d.json", i)] = `{"input": {"s": "` + strings.Repeat("z", size) + `"}}`
	}
	dir := t.TempDir()
	registrytest.WriteTree(t, filepath.Join(dir, "large"), files)
	snap := newFixture(t, dir).reg.Snapshot()
	if snap.TaskCount() != 1 || len(snap.Errors()) > 0 {
		t.Fatalf("the task did not load: %v", snap.Errors())
	}
	pool := newTestPool(t, 1)
	var peak uint64
	run := func(ctx context.Context, c Case) registry.CaseResult {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc) // one worker: no other goroutine writes it
		return pool.Run(ctx, c)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	runs, err := RunAll(t.Context(), snap, taskformat.NewContent(1<<20), run, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || len(runs[0].Results) != n {
		t.Fatalf("got %d runs, want 1 of %d cases", len(runs), n)
	}
	for _, r := range runs[0].Results {
		if r.Status != registry.CasePassed {
			t.Errorf("%s: got %s %q, want PASSED", r.File, r.Status, r.Message)
		}
	}
	grew := int64(peak) - int64(base.HeapAlloc)
	t.Logf("the heap grew by %d bytes at most while %d cases of %d bytes ran", grew, n, size)
	if limit := int64(n * size / 3); grew > limit {
		t.Errorf("the heap grew by %d bytes while %d cases of %d bytes ran one at a time, want at most %d", grew, n, size, limit)
	}
}
