package runner

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
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
func (f folder) Type() registry.SourceType { return "filesystem" }
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
	// limits are the pool's; zero: testLimits. Their TaskBudget is the
	// scheduler's.
	limits Limits
	// caseDone, when set, is called as each case finishes.
	caseDone func(registry.CaseStatus)
	log      watchertest.Log // what the scheduler logged
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
	limits := f.limits
	if limits == (Limits{}) {
		limits = testLimits
	}
	pool := newLimitedPool(tb, workers, limits)
	s := NewScheduler(f.reg, taskformat.NewContent(1<<20), pool.Run, f.store, workers, limits.TaskBudget,
		slog.New(slog.NewTextHandler(&f.log, nil)),
		Hooks{Case: func(st registry.CaseStatus, _ time.Duration) {
			f.runs.Add(1)
			if f.caseDone != nil {
				f.caseDone(st)
			}
		}})
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

// waitLimit is how long a test waits for what must happen before it
// calls it a hang: long, since the race detector and a machine shared
// with other builds make everything many times slower.
const waitLimit = 3 * time.Minute

// verdict waits until task i's verdict is no longer pending.
func (f *fixture) verdict(tb testing.TB, i int) *registry.Verdict {
	tb.Helper()
	var v *registry.Verdict
	done := watchertest.Eventually(waitLimit, func() bool {
		s := f.reg.Snapshot()
		t, ok := s.Task(taskID(i), "1.0.0")
		if ok {
			v = s.Verdict(t)
		}
		return ok && v.Status != registry.VerdictPending
	})
	if !done {
		tb.Fatalf("task %d: no verdict within %s; the log:\n%s", i, waitLimit, f.log.String())
	}
	return v
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
	task, _ := again.reg.Snapshot().Task(taskID(1), "1.0.0")
	if v, err := other.Load(task); v != nil || err != nil {
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
	if !watchertest.Eventually(10*time.Second, func() bool { _, err := os.Stat(stale); return err != nil }) {
		t.Fatal("a verdict no task has had for 30 days is still there after 10s")
	}
	task, _ := f.reg.Snapshot().Task(taskID(1), "1.0.0")
	if v, err := store.Load(task); v == nil || err != nil {
		t.Errorf("the verdict of the task served was pruned: %v", err)
	}
}

const loopScript = "(function(input) { while (true) {} })"

// loopTests are n test files whose cases never end.
func loopTests(n int) map[string]string {
	tests := map[string]string{}
	for i := range n {
		tests[filepathName(i)] = `{"input": {}}`
	}
	return tests
}

// timeouts counts the cases that ended TIMEOUT, as they end.
func (f *fixture) timeouts() *atomic.Int64 {
	var n atomic.Int64
	f.caseDone = func(s registry.CaseStatus) {
		if s == registry.CaseTimeout {
			n.Add(1)
		}
	}
	return &n
}

// waitFor waits until cond holds.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !watchertest.Eventually(waitLimit, cond) {
		tb.Fatalf("%s: not within %s", what, waitLimit)
	}
}

// loopLimits end a case of an endless loop soon.
var loopLimits = Limits{Timeout: time.Second, Memory: testLimits.Memory}

// TestSchedulerCancelsReplaced: the run of a task's files that are no
// longer served stops at once; the new files' verdict does not wait for
// the old files' cases.
func TestSchedulerCancelsReplaced(t *testing.T) {
	dir := t.TempDir()
	const n = 20
	writeTask(t, dir, 1, loopScript, loopTests(n))
	f := newFixture(t, dir)
	f.limits = loopLimits
	timeouts := f.timeouts()
	f.start(t, 1)
	waitFor(t, "the first case of the old files to time out", func() bool { return timeouts.Load() >= 1 })
	writeTask(t, dir, 1, "(function(input) { return {}; })", nil)
	f.load(t)
	before := timeouts.Load()
	if v := f.verdict(t, 1); v.Status != registry.VerdictPassed || len(v.Cases) != n {
		t.Fatalf("got %s with %d cases, want PASSED with %d", v.Status, len(v.Cases), n)
	}
	if got := timeouts.Load() - before; got > 1 {
		t.Errorf("%d more cases of the old files timed out before the new files' verdict, want at most the 1 running", got)
	}
	if !strings.Contains(f.log.String(), "tests canceled: the task changed") {
		t.Errorf("the log does not say that the old run was canceled:\n%s", f.log.String())
	}

	// A task that goes away stops its run too: a task saved after it is
	// tested once the case running when it went is stopped.
	writeTask(t, dir, 2, loopScript, loopTests(n))
	f.load(t)
	was := timeouts.Load()
	waitFor(t, "a case of task 2 to time out", func() bool { return timeouts.Load() > was })
	if err := os.RemoveAll(filepath.Join(dir, "t002")); err != nil {
		t.Fatal(err)
	}
	f.load(t)
	writeTask(t, dir, 3, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 1}, "expected_output": {"sum": 2}}`})
	f.load(t)
	before = timeouts.Load()
	if v := f.verdict(t, 3); v.Status != registry.VerdictPassed {
		t.Fatalf("task 3: got %s, want PASSED", v.Status)
	}
	if got := timeouts.Load() - before; got > 1 {
		t.Errorf("%d more cases of the removed task timed out before task 3's verdict, want at most the 1 running", got)
	}
}

// TestSchedulerFair: a task saved while another's cases run gets its
// verdict after the cases running then, not after all of the other's,
// even when the other is saved again and again.
func TestSchedulerFair(t *testing.T) {
	dir := t.TempDir()
	const n = 20
	writeTask(t, dir, 1, loopScript, loopTests(n))
	f := newFixture(t, dir)
	f.limits = loopLimits
	timeouts := f.timeouts()
	f.start(t, 2)
	waitFor(t, "a case of task 1 to time out", func() bool { return timeouts.Load() >= 1 })
	writeTask(t, dir, 1, loopScript+"\n", nil) // saved again: other files, the same endless cases
	f.load(t)
	writeTask(t, dir, 2, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 1}, "expected_output": {"sum": 2}}`})
	f.load(t)
	before := timeouts.Load()
	if v := f.verdict(t, 2); v.Status != registry.VerdictPassed {
		t.Fatalf("task 2: got %s, want PASSED", v.Status)
	}
	if got := timeouts.Load() - before; got > 2 {
		t.Errorf("%d cases of task 1 timed out before task 2's verdict, want at most the 2 running when it was saved", got)
	}
	// Saved again after task 2: task 1 keeps its place behind it.
	writeTask(t, dir, 1, loopScript+"\n\n", nil)
	writeTask(t, dir, 2, addScript, map[string]string{"a.json": `{"input": {"a": 2, "b": 1}, "expected_output": {"sum": 2}}`})
	f.load(t)
	writeTask(t, dir, 1, loopScript+"\n\n\n", nil)
	f.load(t)
	before = timeouts.Load()
	if v := f.verdict(t, 2); v.Status != registry.VerdictFailed {
		t.Fatalf("task 2 after its test changed: got %s, want FAILED", v.Status)
	}
	if got := timeouts.Load() - before; got > 2 {
		t.Errorf("%d cases of task 1, saved after task 2, timed out before task 2's verdict, want at most the 2 running", got)
	}
}

// TestSchedulerTaskBudget: the cases of a task that are left when its
// budget is spent are not run, and say which budget ran out.
func TestSchedulerTaskBudget(t *testing.T) {
	dir := t.TempDir()
	const n = 10
	writeTask(t, dir, 1, loopScript, loopTests(n))
	f := newFixture(t, dir)
	f.limits = loopLimits
	f.limits.TaskBudget = 3 * time.Second
	timeouts := f.timeouts()
	f.start(t, 1)
	v := f.verdict(t, 1)
	if v.Status != registry.VerdictFailed || len(v.Cases) != n {
		t.Fatalf("got %s with %d cases, want FAILED with %d", v.Status, len(v.Cases), n)
	}
	notRun := 0
	for i, c := range v.Cases {
		if want := "tests/" + filepathName(i); c.File != want {
			t.Errorf("case %d: got %s, want %s", i, c.File, want)
		}
		if c.Status == registry.CaseError && c.Message == "not run: the task's budget of 3s a run (tests.task_budget) ran out" {
			notRun++
		}
	}
	if ran := timeouts.Load(); notRun == 0 || ran+int64(notRun) != n {
		t.Errorf("%d cases ran and %d were not run, want some not run and %d in all", ran, notRun, n)
	}
}

// TestSchedulerStreams: the cases of a run are read as they are handed
// to a worker, not all at once: a task of many large test files is never
// held in memory whole.
func TestSchedulerStreams(t *testing.T) {
	dir := t.TempDir()
	const n, size = 16, 512 << 10
	tests := map[string]string{}
	for i := range n {
		tests[filepathName(i)] = `{"input": {"s": "` + strings.Repeat("z", size) + `"}}`
	}
	writeTask(t, dir, 1, "(function(input) { return {n: input.s.length}; })", tests)
	f := newFixture(t, dir)
	pool := newTestPool(t, 1)
	var peak atomic.Uint64
	run := func(ctx context.Context, c Case) registry.CaseResult {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > peak.Load() {
			peak.Store(m.HeapAlloc)
		}
		return pool.Run(ctx, c)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	s := NewScheduler(f.reg, taskformat.NewContent(1<<20), run, nil, 1, 0, slog.New(slog.NewTextHandler(&f.log, nil)), Hooks{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	if v := f.verdict(t, 1); v.Status != registry.VerdictPassed || len(v.Cases) != n {
		for _, c := range v.Cases {
			if c.Status != registry.CasePassed {
				t.Errorf("%s: got %s %q, want PASSED", c.File, c.Status, c.Message)
			}
		}
		t.Fatalf("got %s with %d cases, want PASSED with %d", v.Status, len(v.Cases), n)
	}
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("the heap grew by %d bytes at most while %d cases of %d bytes ran", grew, n, size)
	if limit := int64(n * size / 3); grew > limit {
		t.Errorf("the heap grew by %d bytes while %d cases of %d bytes ran one at a time, want at most %d", grew, n, size, limit)
	}
}

// TestSchedulerHugeMessages: cases that each throw a 2 MiB message
// make a verdict whose messages say they were cut; it is kept, and read
// back after a restart without running a case again.
func TestSchedulerHugeMessages(t *testing.T) {
	dir, keep := t.TempDir(), t.TempDir()
	const n = 6
	tests := map[string]string{}
	for i := range n {
		tests[filepathName(i)] = `{"input": {"n": 2097152}}`
	}
	writeTask(t, dir, 1, script(t, "huge_throw.js"), tests)
	// Room for the 2 MiB strings under the race detector, whose shadow
	// memory counts in a worker's resident size: the cap is what is
	// tested here, not the memory limit.
	limits := Limits{Timeout: testLimits.Timeout, Memory: 1 << 30}
	store, err := NewStore(keep, limits)
	if err != nil {
		t.Fatal(err)
	}
	first := newFixture(t, dir)
	first.store, first.limits = store, limits
	first.start(t, 2)
	v := first.verdict(t, 1)
	if v.Status != registry.VerdictFailed || len(v.Cases) != n {
		t.Fatalf("got %s with %d cases, want FAILED with %d", v.Status, len(v.Cases), n)
	}
	for _, c := range v.Cases {
		if len(c.Message) > maxMessage || !strings.HasSuffix(c.Message, "… (truncated: 2 MiB message over the 8 KiB limit)") {
			t.Fatalf("%s: a message of %d bytes ending %q, want at most %d ending with the note", c.File, len(c.Message), c.Message[max(len(c.Message)-80, 0):], maxMessage)
		}
	}
	task, _ := first.reg.Snapshot().Task(taskID(1), "1.0.0")
	st, err := os.Stat(store.path(task.TestDigest))
	if err != nil || st.Size() > 1<<20 {
		t.Fatalf("the verdict file: %v, %d bytes, want at most 1 MiB", err, st.Size())
	}

	again := newFixture(t, dir)
	again.store, again.limits = store, limits
	again.start(t, 1)
	if got := again.verdict(t, 1); got.Status != registry.VerdictFailed || len(got.Cases) != n {
		t.Errorf("after a restart: got %s with %d cases, want FAILED with %d", got.Status, len(got.Cases), n)
	}
	if ran := again.runs.Load(); ran != 0 {
		t.Errorf("%d cases ran after the restart, want 0", ran)
	}
}

// TestSchedulerDiscardsEdited: a verdict file edited by hand is not
// believed: the cases run again, and the log says why.
func TestSchedulerDiscardsEdited(t *testing.T) {
	dir, keep := t.TempDir(), t.TempDir()
	writeTask(t, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`})
	store, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	first := newFixture(t, dir)
	first.store = store
	first.start(t, 1)
	v := first.verdict(t, 1)
	if v.Status != registry.VerdictFailed {
		t.Fatalf("got %s, want FAILED", v.Status)
	}
	p := store.path(v.Digest)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("FAILED"), []byte("PASSED"))
	data = bytes.Replace(data, []byte(`"Cases":[`), []byte(`"Cases":[{"file":"tests/invented.json","status":"PASSED"},`), 1)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}

	again := newFixture(t, dir)
	again.store = store
	again.start(t, 1)
	if got := again.verdict(t, 1); got.Status != registry.VerdictFailed || len(got.Cases) != 1 {
		t.Errorf("after the verdict file was edited: got %s with %d cases, want FAILED with 1", got.Status, len(got.Cases))
	}
	if ran := again.runs.Load(); ran != 1 {
		t.Errorf("%d cases ran, want the 1 whose verdict was edited", ran)
	}
	if log := again.log.String(); !strings.Contains(log, "verdict file discarded; the tests run again") || !strings.Contains(log, "fails its check") {
		t.Errorf("the log does not say why the verdict file was discarded:\n%s", log)
	}
}
