package runner

import (
	"fmt"
	"log/slog"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// BenchmarkSchedulerSave measures what one save costs the scheduler in a
// catalogue of 1,000 and of 100,000 task versions, every one with tests
// and a verdict: the save changes one version's test file, and the
// scheduler cancels that version's run and queues another. look=touched
// is the look a save makes now, of the versions the swap touched;
// look=full is the look of the whole catalogue that every save made
// before (now made only at the start and when verdicts are enabled), run
// in the same process as the baseline. touched must cost the same at
// both sizes.
//
//	go test ./registry/runner -run '^$' -bench SchedulerSave -benchmem
func BenchmarkSchedulerSave(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		saves := newSaves(b, n)
		for _, look := range []struct {
			name string
			all  bool
		}{{"full", true}, {"touched", false}} {
			b.Run(fmt.Sprintf("tasks=%d/look=%s", n, look.name), func(b *testing.B) {
				s := NewScheduler(saves.reg, taskformat.NewContent(1<<20), nil, nil, 1, 0, slog.New(slog.DiscardHandler), Hooks{})
				// The look at the start finds the last save pending, and a
				// worker takes it.
				snap, ids, all := saves.reg.Touched()
				s.look(b.Context(), snap, ids, all)
				if st := s.next(); len(s.runs) != 1 || !st.prepare {
					b.Fatalf("%d runs at the start, want 1: every version but the saved one has its verdict", len(s.runs))
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					save := saves.snaps[i%2]
					s.look(b.Context(), save.snap, save.ids, look.all)
					// A worker takes the run the save queued.
					if st := s.next(); !st.prepare || st.run.task.TestDigest != save.digest {
						b.Fatalf("the worker was handed %+v, want the new run of the saved version", st)
					}
				}
			})
		}
	}
}

// saves is a catalogue of n task versions whose verdicts are known, and
// two snapshots of it after a save of one version's tests, each with the
// versions the save touched: a benchmark alternates between them, so that
// every look sees a save.
type saves struct {
	reg   *registry.Registry
	snaps [2]struct {
		snap   *registry.Snapshot
		ids    []string
		digest string // the saved version's tests
	}
}

// newSaves builds the catalogue in memory: one task read from files, and
// n copies of it under other identities, each as a source would send it.
func newSaves(tb testing.TB, n int) *saves {
	tb.Helper()
	_, id := registrytest.ScaleTask(0)
	fsys := fstest.MapFS{}
	for name, content := range registrytest.Task(id, "1.0.0") {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	tmpl := taskformat.NewLoader().LoadFS(taskformat.Root{Source: "tasks", Key: "t", Display: "t"}, fsys)
	if tmpl.Task == nil {
		tb.Fatalf("the template task did not load: %v", tmpl.Errors)
	}
	task := func(i int, tests string) registry.RootResult {
		t := *tmpl.Task
		rel, id := registrytest.ScaleTask(i)
		t.ID, t.Root, t.Path, t.Label = id, rel, rel, fmt.Sprintf("task %d", i)
		t.TestDigest = fmt.Sprintf("sha256:%s-%064x", tests, i)
		t.Digest = t.TestDigest
		return registry.RootResult{Root: rel, Task: &t}
	}
	s := &saves{reg: registry.New(time.Now, nil)}
	src := s.reg.AddSource(folder{dir: "tasks"})
	all := make([]registry.RootResult, n)
	for i := range n {
		all[i] = task(i, "a")
	}
	s.reg.Apply(registry.Update{Source: src, Complete: true, Results: all})
	s.reg.EnableVerdicts()
	for _, res := range all {
		s.reg.SetVerdict(res.Task, registry.NewVerdict(res.Task.TestDigest,
			[]registry.CaseResult{{File: "tests/one.json", Status: registry.CasePassed}}))
	}
	s.reg.Touched()
	for k, tests := range []string{"b", "c"} {
		save := task(n/2, tests)
		s.reg.Apply(registry.Update{Source: src, Results: []registry.RootResult{save}})
		snap, ids, whole := s.reg.Touched()
		if whole || len(ids) != 1 {
			tb.Fatalf("a save touched %d versions (all: %t), want 1", len(ids), whole)
		}
		s.snaps[k].snap, s.snaps[k].ids, s.snaps[k].digest = snap, ids, save.Task.TestDigest
	}
	return s
}
