package runner

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestSchedulerLooksAtTouched: the look at a save replaces the run of the
// version saved (keeping its place in the queue) and cancels the run of
// the version removed, and leaves every other run as it was.
func TestSchedulerLooksAtTouched(t *testing.T) {
	dir := t.TempDir()
	test := map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`}
	for i := range 3 {
		writeTask(t, dir, i, addScript, test)
	}
	f := newFixture(t, dir)
	s := NewScheduler(f.reg, taskformat.NewContent(1<<20), nil, nil, 1, 0, slog.New(slog.NewTextHandler(&f.log, nil)), Hooks{})
	look := func() {
		snap, ids, all := f.reg.Touched()
		s.look(t.Context(), snap, ids, all)
	}
	look()
	if len(s.runs) != 3 {
		t.Fatalf("the look at the start made %d runs, want 3", len(s.runs))
	}
	before := maps.Clone(s.runs)
	id := func(i int) string { return taskID(i) + "@1.0.0" }

	writeTask(t, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`})
	if err := os.RemoveAll(filepath.Join(dir, "t002")); err != nil {
		t.Fatal(err)
	}
	f.load(t)
	look()
	if r := s.runs[id(0)]; r != before[id(0)] || r.ctx.Err() != nil {
		t.Errorf("task 0, untouched: got run %p, want %p running", r, before[id(0)])
	}
	if r, old := s.runs[id(1)], before[id(1)]; r == nil || r == old || r.batch != old.batch || old.ctx.Err() == nil {
		t.Errorf("task 1, saved: got run %+v, want a new run in the old one's batch %d, the old one canceled", r, old.batch)
	}
	if r, ok := s.runs[id(2)]; ok || before[id(2)].ctx.Err() == nil {
		t.Errorf("task 2, removed: got run %+v, want none and the old one canceled", r)
	}
}

// TestSchedulerSaveCostFlat: what a save costs the scheduler does not
// grow with the catalogue: a look at one saved version in a catalogue
// of 2,000 allocates what it does in one of 100. (BenchmarkSchedulerSave
// measures it at 100,000.)
func TestSchedulerSaveCostFlat(t *testing.T) {
	allocs := map[int]float64{}
	for _, n := range []int{100, 2_000} {
		saves := newSaves(t, n)
		s := NewScheduler(saves.reg, taskformat.NewContent(1<<20), nil, nil, 1, 0, slog.New(slog.DiscardHandler), Hooks{})
		snap, ids, all := saves.reg.Touched()
		s.look(t.Context(), snap, ids, all)
		s.next()
		i := 0
		allocs[n] = testing.AllocsPerRun(50, func() {
			save := saves.snaps[i%2]
			i++
			s.look(t.Context(), save.snap, save.ids, false)
			s.next()
		})
	}
	if allocs[2_000] > allocs[100] {
		t.Errorf("a save allocated %.0f times in a catalogue of 2,000, %.0f in one of 100; want no more", allocs[2_000], allocs[100])
	}
}

// TestSchedulerRetriesGivenUp: a run that gives up because a test file
// changed on disk after it was loaded runs again at the next look, even
// when the file went back to what was loaded, so that no reload touches
// its version again.
func TestSchedulerRetriesGivenUp(t *testing.T) {
	dir := t.TempDir()
	test := `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`
	writeTask(t, dir, 1, addScript, map[string]string{"a.json": test})
	f := newFixture(t, dir)
	p := filepath.Join(dir, "t001", "tests", "a.json")
	if err := os.WriteFile(p, []byte(`{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 0}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.start(t, 1)
	waitFor(t, "the run to give up on the changed file", func() bool {
		return strings.Contains(f.log.String(), "tests not run: the task changed on disk")
	})
	if err := os.WriteFile(p, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTask(t, dir, 2, addScript, nil) // a swap that does not touch task 1
	f.load(t)
	if v := f.verdict(t, 1); v.Status != registry.VerdictPassed {
		t.Fatalf("got %s, want PASSED", v.Status)
	}
}
