package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

func taskID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// writeTask writes a task whose main.js is script and whose tests are the
// given test files, by name.
func writeTask(tb testing.TB, dir string, i int, script string, tests map[string]string) {
	tb.Helper()
	files := map[string]string{
		"metadata.json":      fmt.Sprintf(`{"uuid": %q, "version": "1.0.0", "label": "task %d"}`, taskID(i), i),
		"input.schema.json":  `{"type": "object"}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            script,
	}
	for name, content := range tests {
		files["tests/"+name] = content
	}
	for name, content := range files {
		p := filepath.Join(dir, fmt.Sprintf("t%03d", i), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// folder is the source of a fixture: the test loads it by hand, so that
// the test decides when a change is seen.
type folder struct{ dir string }

func (f folder) Name() string              { return "tasks" }
func (f folder) Type() registry.SourceType { return registry.SourceFilesystem }
func (f folder) Location() string          { return f.dir }
func (f folder) Run(ctx context.Context, _ func(registry.Update), _ <-chan registry.Rescan) error {
	<-ctx.Done()
	return nil
}

// fixture is a registry over one folder of task folders.
type fixture struct {
	reg   *registry.Registry
	feed  *registry.Feed
	dir   string
	idx   int
	runs  atomic.Int64 // cases run
	store *Store       // nil: none
}

func newFixture(tb testing.TB, dir string) *fixture {
	tb.Helper()
	f := &fixture{feed: registry.NewFeed(1024, 1024), dir: dir}
	f.reg = registry.New(time.Now, f.feed)
	f.idx = f.reg.AddSource(folder{dir})
	f.load(tb)
	return f
}

// load reads every task folder again and applies them as one update.
func (f *fixture) load(tb testing.TB) {
	tb.Helper()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		tb.Fatal(err)
	}
	var res []registry.RootResult
	ld := taskformat.NewLoader()
	for _, e := range entries {
		root := taskformat.Root{Source: "tasks", Key: e.Name(), Display: filepath.Join(f.dir, e.Name())}
		res = append(res, ld.LoadDir(root, taskformat.DirFS(filepath.Join(f.dir, e.Name()))))
	}
	f.reg.Apply(registry.Update{Source: f.idx, Complete: true, Results: res})
}

// start runs a scheduler over a pool until the test ends.
func (f *fixture) start(tb testing.TB, workers int) {
	tb.Helper()
	pool := newTestPool(tb, workers)
	s := NewScheduler(f.reg, taskformat.NewContent(1<<20), pool.Run, f.store, workers, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Hooks{Case: func(registry.CaseStatus, time.Duration) { f.runs.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// verdict waits until task i's verdict is no longer pending.
func (f *fixture) verdict(tb testing.TB, i int) *registry.Verdict {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s := f.reg.Snapshot()
		if t, ok := s.Task(taskID(i), "1.0.0"); ok {
			if v := s.Verdict(t); v.Status != registry.VerdictPending {
				return v
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("task %d: no verdict within 30s", i)
	return nil
}

const addScript = "(function(input) { return {sum: input.a + input.b}; })"

func TestSchedulerVerdicts(t *testing.T) {
	dir := t.TempDir()
	writeTask(t, dir, 1, addScript, map[string]string{
		"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`,
		"b.json": `{"input": {"a": 1, "b": 3}, "expected_output": {"sum": 3}}`,
	})
	writeTask(t, dir, 2, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 1}, "expected_output": {"sum": 2}}`})
	writeTask(t, dir, 3, addScript, nil)
	f := newFixture(t, dir)
	sub, err := f.feed.Subscribe(-1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	f.start(t, 1)

	v := f.verdict(t, 1)
	if v.Status != registry.VerdictFailed || v.Passed() != 1 || v.Failed() != 1 || len(v.Cases) != 2 {
		t.Fatalf("got %s %d passed %d failed, want FAILED 1 passed 1 failed", v.Status, v.Passed(), v.Failed())
	}
	if c := v.Cases[1]; c.File != "tests/b.json" || c.Message != "expected_output differs at /sum: got 4, want 3" ||
		string(c.Actual) != `{"sum":4}` || string(c.Expected) != `{"sum":3}` {
		t.Errorf("got case %+v", c)
	}
	if v := f.verdict(t, 2); v.Status != registry.VerdictPassed {
		t.Errorf("task 2: got %s, want PASSED", v.Status)
	}
	if v := f.verdict(t, 3); v.Status != registry.VerdictNone {
		t.Errorf("task without tests: got %s, want NONE", v.Status)
	}
	changed := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(changed) < 2 {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("got VERDICT_CHANGED for %v, want tasks 1 and 2: %v", changed, err)
		}
		if e.Kind == registry.VerdictChanged {
			changed[e.ID+"@"+e.Version] = true
		}
	}

	// A rescan, and a change that leaves the tested files alone, run
	// nothing again; the change to task 2's test runs only task 2, and
	// with one worker task 1 (first in the queue) would have run before.
	runs := f.runs.Load()
	f.load(t)
	writeTask(t, dir, 1, addScript+"\n", nil) // main.js changes...
	writeTask(t, dir, 1, addScript, nil)      // ...and back: the same files
	if err := os.WriteFile(filepath.Join(dir, "t001", "metadata.json"),
		[]byte(fmt.Sprintf(`{"uuid": %q, "version": "1.0.0", "label": "renamed"}`, taskID(1))), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTask(t, dir, 2, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 1}, "expected_output": {"sum": 3}}`})
	f.load(t)
	if v := f.verdict(t, 2); v.Status != registry.VerdictFailed {
		t.Errorf("task 2 after its test changed: got %s, want FAILED", v.Status)
	}
	if got := f.runs.Load() - runs; got != 1 {
		t.Errorf("got %d cases run after the change, want 1 (task 2's)", got)
	}
	if v := f.verdict(t, 1); v.Status != registry.VerdictFailed {
		t.Errorf("task 1 after its label changed: got %s, want the FAILED it had", v.Status)
	}
}

// TestSchedulerPriority: a task saved while a backlog is being tested gets
// its verdict before the backlog does.
func TestSchedulerPriority(t *testing.T) {
	dir := t.TempDir()
	slow := "(function(input) { var end = Date.now() + 200; while (Date.now() < end) {} return {}; })"
	const backlog = 10
	for i := 1; i <= backlog; i++ {
		writeTask(t, dir, i, slow, map[string]string{"a.json": `{"input": {}}`})
	}
	f := newFixture(t, dir)
	f.start(t, 1)
	f.verdict(t, 1)
	writeTask(t, dir, 99, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 1}, "expected_output": {"sum": 2}}`})
	f.load(t)
	if v := f.verdict(t, 99); v.Status != registry.VerdictPassed {
		t.Fatalf("got %s, want PASSED", v.Status)
	}
	s := f.reg.Snapshot()
	done := 0
	for i := 1; i <= backlog; i++ {
		tk, _ := s.Task(taskID(i), "1.0.0")
		if s.Verdict(tk).Status != registry.VerdictPending {
			done++
		}
	}
	if done > 3 {
		t.Errorf("%d of the %d backlog tasks were tested before the one just saved, want at most 3", done, backlog)
	}
}

// TestSchedulerRestart: verdicts kept in a store are taken after a restart
// without running a case; a change runs again.
func TestSchedulerRestart(t *testing.T) {
	dir, keep := t.TempDir(), t.TempDir()
	writeTask(t, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`})
	writeTask(t, dir, 2, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`})
	store, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	first := newFixture(t, dir)
	first.store = store
	first.start(t, 1)
	want := first.verdict(t, 1)
	first.verdict(t, 2)

	again := newFixture(t, dir)
	again.store = store
	again.start(t, 1)
	got := again.verdict(t, 1)
	if got.Status != registry.VerdictFailed || len(got.Cases) != 1 || got.Cases[0].Message != want.Cases[0].Message {
		t.Errorf("after a restart: got %+v, want %+v", got, want)
	}
	if v := again.verdict(t, 2); v.Status != registry.VerdictPassed {
		t.Errorf("task 2 after a restart: got %s, want PASSED", v.Status)
	}
	if n := again.runs.Load(); n != 0 {
		t.Errorf("%d cases ran after the restart, want 0", n)
	}
	// Another store, made under other limits, keeps nothing of this one.
	other, err := NewStore(keep, Limits{Timeout: 5 * time.Second, Memory: testLimits.Memory})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Load(got.Digest); ok {
		t.Error("a verdict made under other limits was taken")
	}
}

// TestStorePrune: verdicts of files no task has are removed once they have
// not been current for the age given, with what saves cut short left
// behind; the verdicts of the tasks served stay, and are marked current.
func TestStorePrune(t *testing.T) {
	dir, keep := t.TempDir(), t.TempDir()
	writeTask(t, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`})
	f := newFixture(t, dir)
	store, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	task, ok := f.reg.Snapshot().Task(taskID(1), "1.0.0")
	if !ok || task.TestDigest == "" {
		t.Fatalf("task 1 not loaded with tests: %+v", task)
	}
	now := time.Now()
	files := []struct {
		name string
		age  time.Duration
		gone bool
	}{
		{filepath.Base(store.path(task.TestDigest)), 30 * 24 * time.Hour, false}, // current, however old
		{filepath.Base(store.path("gone a week")), 8 * 24 * time.Hour, true},
		{filepath.Base(store.path("gone a day")), 24 * time.Hour, false},
		{".verdict-123", 2 * time.Hour, true}, // a save cut short
		{".verdict-456", time.Minute, false},  // a save under way
		{"notes.txt", 30 * 24 * time.Hour, false},
	}
	for _, fl := range files {
		p := filepath.Join(keep, fl.name)
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-fl.age), now.Add(-fl.age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := store.Prune(f.reg.Snapshot(), 7*24*time.Hour, now)
	if err != nil || n != 2 {
		t.Errorf("removed %d (%v), want 2", n, err)
	}
	for _, fl := range files {
		st, err := os.Stat(filepath.Join(keep, fl.name))
		if gone := os.IsNotExist(err); gone != fl.gone {
			t.Errorf("%s, %s old: gone %v, want %v", fl.name, fl.age, gone, fl.gone)
		}
		if fl.name == files[0].name && err == nil && now.Sub(st.ModTime()) > time.Hour {
			t.Errorf("the current verdict was not marked current: %s old", now.Sub(st.ModTime()))
		}
	}
}

// TestSchedulerPrunes: a scheduler prunes its store once every source has
// loaded.
func TestSchedulerPrunes(t *testing.T) {
	dir, keep := t.TempDir(), t.TempDir()
	writeTask(t, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`})
	store, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(keep, filepath.Base(store.path("no task has these files")))
	if err := os.WriteFile(stale, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, dir)
	f.store = store
	f.start(t, 1)
	f.verdict(t, 1)
	deadline := time.Now().Add(10 * time.Second)
	for _, err := os.Stat(stale); err == nil; _, err = os.Stat(stale) {
		if time.Now().After(deadline) {
			t.Fatal("a verdict no task has had for 30 days is still there after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok := store.Load(f.verdict(t, 1).Digest); !ok {
		t.Error("the verdict of the task served was pruned")
	}
}
