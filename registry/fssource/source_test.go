package fssource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The one set of tree helpers, under the names these tests use.
var (
	taskFiles  = registrytest.Task
	writeTree  = registrytest.WriteTree
	zipBytes   = registrytest.ZipBytes
	mergeFiles = registrytest.Merge
	write      = registrytest.Write
)

const (
	id1 = registrytest.ID1
	id2 = registrytest.ID2
)

type (
	Snapshot = registry.Snapshot
	Event    = registry.Event
)

const (
	TaskUpdated  = registry.TaskUpdated
	TaskRemoved  = registry.TaskRemoved
	ErrorCleared = registry.ErrorCleared
	StatusError  = registry.StatusError
	StatusOK     = registry.StatusOK
)

// live is a service running over real folders, with a subscription to its
// change feed.
type live struct {
	reg  *registry.Registry
	svc  *registry.Service
	sub  *registry.Subscription
	src  []*Source
	stop func()
	logs *watchertest.Log // what the service, sources and watchers log
}

// testWatch is quick to react, for tests.
func testWatch(mode watcher.Mode) watcher.Config {
	return watcher.Config{Mode: mode, Debounce: 10 * time.Millisecond, MaxWait: 200 * time.Millisecond, PollInterval: 100 * time.Millisecond}
}

func startService(t testing.TB, mode watcher.Mode, dirs ...string) *live {
	t.Helper()
	return startServiceWith(t, testWatch(mode), dirs...)
}

// startServiceWith runs a service over dirs until the test ends, and
// follows its feed from the first load on.
func startServiceWith(t testing.TB, cfg watcher.Config, dirs ...string) *live {
	t.Helper()
	return startServiceHooks(t, cfg, registry.Hooks{}, dirs...)
}

// startServiceHooks is startServiceWith with the service's hooks given.
func startServiceHooks(t testing.TB, cfg watcher.Config, hooks registry.Hooks, dirs ...string) *live {
	t.Helper()
	return startSources(t, Config{Watch: cfg}, hooks, dirs...)
}

// startSources runs a source for each folder, each configured as base
// but for its name and path.
func startSources(t testing.TB, base Config, hooks registry.Hooks, dirs ...string) *live {
	t.Helper()
	feed := registry.NewFeed(1024, 1024)
	reg := registry.New(time.Now, feed)
	logs := &watchertest.Log{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc := registry.NewService(reg, log, hooks)
	var sources []*Source
	for i, d := range dirs {
		c := base
		c.Name, c.Path = fmt.Sprint("s", i), d
		src, err := New(c, i, log)
		if err != nil {
			t.Fatal(err)
		}
		svc.Add(src)
		sources = append(sources, src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = svc.Run(ctx)
	}()
	l := &live{reg: reg, svc: svc, src: sources, logs: logs, stop: func() {
		cancel()
		<-done
		if runErr != nil {
			t.Errorf("service: %v", runErr)
		}
	}}
	t.Cleanup(l.stop)
	s := l.until(t, "the first load", func(s *Snapshot) bool { return s.Ready() })
	// Follow the feed from the first load on: replaying from its
	// generation skips the events that made it.
	sub, err := feed.Subscribe(s.Generation)
	if err != nil {
		t.Fatal(err)
	}
	l.sub = sub
	t.Cleanup(sub.Close)
	return l
}

// until waits for a snapshot that satisfies ok.
func (l *live) until(t testing.TB, what string, ok func(*Snapshot) bool) *Snapshot {
	t.Helper()
	var s *Snapshot
	// 30s: a first load of 10,000 tasks on a busy machine.
	if !watchertest.Eventually(30*time.Second, func() bool { s = l.reg.Snapshot(); return ok(s) }) {
		t.Fatalf("never saw %s within 30s; last:\n%s", what, sourcetest.Listing(s))
	}
	return s
}

// events reads the feed until an event satisfies stop, returning all read.
func (l *live) events(t testing.TB, stop func(Event) bool) []Event {
	t.Helper()
	var got []Event
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		e, err := l.sub.Next(ctx)
		if err != nil {
			t.Fatalf("no such event within 10s (%v); got %v", err, got)
		}
		got = append(got, e)
		if stop(e) {
			return got
		}
	}
}

func kinds(es []Event) string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

func label(s *Snapshot, id string) string {
	if t, ok := s.Task(id, ""); ok {
		return t.Label
	}
	return "<none>"
}

func TestHotReload(t *testing.T) {
	for _, mode := range []watcher.Mode{watcher.ModeFsnotify, watcher.ModePoll} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
			l := startService(t, mode, dir)
			gen := l.reg.Snapshot().Generation
			meta := filepath.Join(dir, "a", "metadata.json")

			// A save shows at once, as one update.
			write(t, meta, strings.Replace(taskFiles(id1, "1.0.0")["metadata.json"], "Task 1.0.0", "Renamed", 1))
			es := l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
			if s := l.reg.Snapshot(); label(s, id1) != "Renamed" || es[0].Generation != gen+1 || s.Generation != gen+1 {
				t.Errorf("got %q at generation %d, event %v; want Renamed at %d", label(s, id1), s.Generation, es, gen+1)
			}

			// A broken save keeps the last good task, stale, with the error.
			write(t, meta, "{\n  \"uuid\": ")
			es = l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
			s := l.reg.Snapshot()
			task, _ := s.Task(id1, "")
			if task == nil || !task.Stale || task.Error == nil || task.Error.Path != meta || task.Label != "Renamed" || len(s.Errors()) != 1 {
				t.Fatalf("got %+v and errors %v; want the last good task, stale, with the error", task, s.Errors())
			}
			if kinds(es) != "ERROR_RAISED TASK_UPDATED" && kinds(es) != "TASK_UPDATED" {
				t.Errorf("got events %s", kinds(es))
			}

			// The next good save clears both.
			write(t, meta, taskFiles(id1, "1.0.0")["metadata.json"])
			l.events(t, func(e Event) bool { return e.Kind == ErrorCleared })
			s = l.until(t, "the fix", func(s *Snapshot) bool { return s.ErrorCount() == 0 })
			if task, _ := s.Task(id1, ""); task.Stale || task.Error != nil || task.Label != "Task 1.0.0" {
				t.Errorf("got %+v after the fix", task)
			}

			// A new folder, then its removal.
			writeTree(t, dir, taskFiles(id2, "2.0.0").Under("later/b"))
			l.until(t, "the new task", func(s *Snapshot) bool { _, ok := s.Task(id2, "2.0.0"); return ok })
			if err := os.RemoveAll(filepath.Join(dir, "later")); err != nil {
				t.Fatal(err)
			}
			es = l.events(t, func(e Event) bool { return e.Kind == TaskRemoved })
			if es[len(es)-1].ID != id2 {
				t.Errorf("got %v, want %s removed", es, id2)
			}
		})
	}
}

// TestIdenticalSaveIsNoChange rewrites a file with the same bytes: nothing
// is swapped and no event is sent.
func TestIdenticalSaveIsNoChange(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b")))
	l := startService(t, watcher.ModeFsnotify, dir)
	gen := l.reg.Snapshot().Generation
	write(t, filepath.Join(dir, "a", "main.js"), taskFiles(id1, "1.0.0")["main.js"])
	write(t, filepath.Join(dir, "b", "main.js"), "(function(input) { return {changed: true}; })\n")
	es := l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
	if len(es) != 1 || es[0].ID != id2 || l.reg.Snapshot().Generation != gen+1 {
		t.Errorf("got %v at generation %d, want one update of %s at %d", es, l.reg.Snapshot().Generation, id2, gen+1)
	}
}

// TestHalfWrittenFile writes a file in two parts with a pause between that
// is longer than the debounce: the half never shows as an error.
func TestHalfWrittenFile(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	l := startService(t, watcher.ModeFsnotify, dir)
	full := strings.Replace(taskFiles(id1, "1.0.0")["metadata.json"], "Task 1.0.0", "Whole", 1)
	f, err := os.OpenFile(filepath.Join(dir, "a", "metadata.json"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(full[:20])
	time.Sleep(40 * time.Millisecond) // a slow writer, not a wait for the result
	_, _ = f.WriteString(full[20:])
	f.Close()
	es := l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
	if kinds(es) != "TASK_UPDATED" || es[0].Task.Stale || es[0].Task.Label != "Whole" {
		t.Errorf("got %s (%+v), want one clean update", kinds(es), es[len(es)-1].Task)
	}
}

func TestConflictRedecided(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id1, "1.0.0").With("main.js", "(function(){ return 2; })").Under("b")))
	l := startService(t, watcher.ModeFsnotify, dir)
	if task, _ := l.reg.Snapshot().Task(id1, ""); task.Path != filepath.Join(dir, "a") || len(l.reg.Snapshot().Conflicts()) != 1 {
		t.Fatalf("got %s, want a to win", task.Path)
	}
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	s := l.until(t, "b served", func(s *Snapshot) bool {
		task, _ := s.Task(id1, "")
		return task != nil && task.Path == filepath.Join(dir, "b")
	})
	if len(s.Conflicts()) != 0 {
		t.Errorf("got conflicts %v, want none", s.Conflicts())
	}
}

func TestZipReplaced(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.zip")
	if err := os.WriteFile(p, zipBytes(t, taskFiles(id1, "1.0.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	l := startService(t, watcher.ModeFsnotify, dir)
	tmp := filepath.Join(dir, "t.zip.tmp")
	if err := os.WriteFile(tmp, zipBytes(t, taskFiles(id1, "1.1.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	s := l.until(t, "the new version", func(s *Snapshot) bool { _, ok := s.Task(id1, "1.1.0"); return ok })
	if vs := s.Versions(id1); len(vs) != 1 {
		t.Errorf("got versions %v, want only 1.1.0: the zip is one root", vs)
	}
}

func TestMutationlessRescan(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	l := startService(t, watcher.ModeOff, dir)
	writeTree(t, dir, taskFiles(id2, "1.0.0").Under("b"))
	gen, err := l.svc.Rescan(context.Background())
	if now := l.reg.Snapshot().Generation; err != nil || gen != now {
		t.Fatalf("rescan returned generation %d and %v, want the generation in force, %d, and no error", gen, err, now)
	}
	if _, ok := l.reg.Snapshot().Task(id2, ""); !ok {
		t.Errorf("rescan did not find the new task")
	}
}

// TestDebouncePerTask: a task written without pause does not hold back a
// save to another task, which has its own quiet window.
func TestDebouncePerTask(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("busy"), taskFiles(id2, "1.0.0").Under("calm")))
	cfg := testWatch(watcher.ModeFsnotify)
	cfg.Debounce, cfg.MaxWait = 250*time.Millisecond, time.Hour // 50 writes in each window
	l := startServiceWith(t, cfg, dir)
	// Once set up, the watcher reads again what changed since the load
	// began, this whole tree just written: a write before that would be
	// published by that read, rightly, whatever the debounce.
	select {
	case <-l.src[0].Watching():
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not set up within 10s")
	}

	// A machine busy with other tests may pause the writer for a whole
	// window, after which publishing the busy task is right: the longest
	// pause between two writes says whether it was.
	var longest atomic.Int64
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		last := time.Now()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_ = os.WriteFile(filepath.Join(dir, "busy", "main.js"), []byte(fmt.Sprintf("(function(){ return %d; })", i)), 0o644)
				now := time.Now()
				if gap := now.Sub(last); i > 0 && int64(gap) > longest.Load() {
					longest.Store(int64(gap))
				}
				last = now
			}
		}
	}()
	write(t, filepath.Join(dir, "calm", "main.js"), "(function(){ return 'calm'; })")
	es := l.events(t, func(e Event) bool { return e.Kind == TaskUpdated && e.ID == id2 })
	select {
	case <-writing:
		t.Fatal("the busy task's writer stopped before the calm task was published")
	default:
	}
	close(stop)
	<-writing
	for _, e := range es {
		if pause := time.Duration(longest.Load()); e.ID == id1 && pause < cfg.Debounce {
			t.Errorf("the busy task was published while still being written (its longest pause was %s): %v", pause, e)
		}
	}
}

// TestSourceAppears: a source folder missing at start is reported, and
// loaded when it appears.
func TestSourceAppears(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	l := startService(t, watcher.ModeFsnotify, dir)
	s := l.reg.Snapshot()
	if st := s.Sources()[0]; st.Status != StatusError || len(s.Errors()) != 1 || s.Errors()[0].Path != dir {
		t.Fatalf("got %+v and %v, want the missing folder reported", st, s.Errors())
	}
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	s = l.until(t, "the task", func(s *Snapshot) bool { _, ok := s.Task(id1, ""); return ok })
	if st := s.Sources()[0]; st.Status != StatusOK || s.ErrorCount() != 0 {
		t.Errorf("got %+v with errors %v after the folder appeared", st, s.Errors())
	}
}

// TestSourceRemovedAndBack: the tasks of a source folder that is removed go
// with their files; the folder coming back brings them back.
func TestSourceRemovedAndBack(t *testing.T) {
	for _, mode := range []watcher.Mode{watcher.ModeFsnotify, watcher.ModePoll} {
		t.Run(string(mode), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "src")
			writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
			l := startService(t, mode, dir)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			// The task's own files may go first, in a batch of their own,
			// while the folder is still there: wait for the folder's removal.
			s := l.until(t, "the tasks gone and the source in error", func(s *Snapshot) bool {
				return s.TaskCount() == 0 && s.Sources()[0].Status == StatusError
			})
			if st := s.Sources()[0]; st.Status != StatusError || s.ErrorCount() != 1 {
				t.Errorf("got %+v with errors %v, want the source in error", st, s.Errors())
			}
			writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
			s = l.until(t, "the task back", func(s *Snapshot) bool { _, ok := s.Task(id1, ""); return ok })
			if st := s.Sources()[0]; st.Status != StatusOK || s.ErrorCount() != 0 {
				t.Errorf("got %+v with errors %v after the folder came back", st, s.Errors())
			}
		})
	}
}

// TestMissingSource: a folder that is not there is an error on the source,
// naming why, and not an empty catalogue that looks fine.
func TestMissingSource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	src, err := New(Config{Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}}, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(time.Now, nil)
	if err := registry.LoadOnce(context.Background(), reg, src); err != nil {
		t.Fatal(err)
	}
	s := reg.Snapshot()
	if st := s.Sources()[0]; st.Status != StatusError || !strings.Contains(st.Error, "no such file") || !s.Ready() {
		t.Errorf("got %+v (ready %v), want status error naming the missing path", st, s.Ready())
	}
}

// TestFsnotifyPastTheLimit: an explicit fsnotify that cannot watch every
// folder does not quietly poll: the source stops following its files,
// degraded, with the sysctl to raise, and its tasks stay served.
func TestFsnotifyPastTheLimit(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b")))
	cfg := testWatch(watcher.ModeFsnotify)
	cfg.MaxWatches = 2 // of 5 folders: the injected limit of a small machine
	reg := registry.New(time.Now, nil)
	log := slog.New(slog.DiscardHandler)
	src, err := New(Config{Path: dir, Watch: cfg}, 0, log)
	if err != nil {
		t.Fatal(err)
	}
	svc := registry.NewService(reg, log, registry.Hooks{})
	svc.Add(src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	watchertest.Eventually(10*time.Second, func() bool { return reg.Snapshot().Sources()[0].Error != "" })
	cancel()
	runErr := <-done // the service runs on until it is stopped; it reports the source that stopped
	var le *watcher.LimitError
	if !errors.As(runErr, &le) || !strings.Contains(runErr.Error(), "fs.inotify.max_user_watches") {
		t.Errorf("got %v, want a LimitError naming fs.inotify.max_user_watches", runErr)
	}
	s := reg.Snapshot()
	// Degraded: failing, and still serving what it loaded.
	if st := s.Sources()[0]; st.Status != registry.StatusDegraded || !strings.Contains(st.Error, "fs.inotify.max_user_watches") {
		t.Errorf("got source %+v, want it degraded, naming the sysctl", st)
	}
	if s.TaskCount() != 2 {
		t.Errorf("got %d tasks, want the 2 loaded to stay served", s.TaskCount())
	}
	if w := src.Watch(); w.Mode == string(watcher.ModePoll) || w.Polled != 0 {
		t.Errorf("got %+v: it fell back to polling", w)
	}
}

// TestReadyHookOnce: the service's Ready hook runs once, when every source
// has loaded (serve hands the first load's garbage back to the system
// there), and not again for later loads.
func TestReadyHookOnce(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, taskFiles(id1, "1.0.0").Under("a"))
	writeTree(t, b, taskFiles(id2, "1.0.0").Under("b"))
	ran := make(chan struct{}, 4)
	l := startServiceHooks(t, testWatch(watcher.ModeFsnotify), registry.Hooks{Ready: func() { ran <- struct{}{} }}, a, b)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Ready did not run after the first load")
	}
	write(t, filepath.Join(a, "a", "main.js"), "(function(input) { return {changed: true}; })\n")
	l.events(t, func(e Event) bool { return e.Kind == TaskUpdated })
	if _, err := l.svc.Rescan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(ran); n != 0 {
		t.Errorf("Ready ran %d more times after the first load, want none", n)
	}
}

// TestSafetyNetBounded: the periodic rescan runs at most a twentieth of
// the time, however short rescan_interval is next to a full scan.
func TestSafetyNetBounded(t *testing.T) {
	now := time.Now()
	tests := []struct {
		ended time.Time
		took  time.Duration
		due   bool
	}{
		{time.Time{}, 0, true},                                // never scanned
		{now.Add(-time.Minute), 100 * time.Millisecond, true}, // small: every minute
		{now.Add(-time.Minute), 20 * time.Second, false},      // 100,000 tasks: not yet
		{now.Add(-400 * time.Second), 20 * time.Second, true},
	}
	for _, tc := range tests {
		s := &Source{scanEnded: tc.ended, scanTook: tc.took}
		if got := s.safetyNetDue(now); got != tc.due {
			t.Errorf("last scan took %v and ended %v ago: due %v, want %v", tc.took, now.Sub(tc.ended), got, tc.due)
		}
	}
}

// TestSaveDuringWatchSetup: the catalogue is served as soon as it is
// loaded, while the watcher still sets up; what changes before the
// watcher follows its folder is not lost: it shows once the setup is
// done. A save in place and a new task show by their files' change times;
// a task removed, and one moved in (its files older than the load), by a
// walk once the watcher is set up.
func TestSaveDuringWatchSetup(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "3.0.0").Under("c"),
		taskFiles(id1, "5.0.0").With("tests/extra.json", `{"input": {"a": 2}, "expected_output": {}}`).Under("e"),
		taskFiles(id2, "6.0.0").Under("f")))
	writeTree(t, outside, mergeFiles(taskFiles(id2, "4.0.0").Under("d"),
		taskFiles(id2, "6.0.0").With("metadata.json", strings.Replace(taskFiles(id2, "6.0.0")["metadata.json"], "Task 6.0.0", "Swapped", 1)).Under("f")))
	older := filepath.Join(outside, "d", "metadata.json")
	// The load begins once the filesystem's clock has moved on from d's
	// files.
	l, release := startStalled(t, dir, older)
	labelOf := func(s *Snapshot, id, version string) string {
		if task, ok := s.Task(id, version); ok {
			return task.Label
		}
		return ""
	}
	if labelOf(l.reg.Snapshot(), id1, "1.0.0") != "Task 1.0.0" {
		t.Fatalf("not served before the watcher was set up:\n%s", sourcetest.Listing(l.reg.Snapshot()))
	}
	// While nothing watches: a save in place, a task added, one removed,
	// one moved in, a test file removed, and a task folder swapped for
	// another by rename (its files older than the load).
	write(t, filepath.Join(dir, "a", "metadata.json"), strings.Replace(taskFiles(id1, "1.0.0")["metadata.json"], "Task 1.0.0", "Saved early", 1))
	writeTree(t, dir, taskFiles(id2, "2.0.0").Under("b"))
	if err := os.RemoveAll(filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(outside, "d"), filepath.Join(dir, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "e", "tests", "extra.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "f"), filepath.Join(outside, "old-f")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(outside, "f"), filepath.Join(dir, "f")); err != nil {
		t.Fatal(err)
	}
	release()
	l.until(t, "every change made during the setup", func(s *Snapshot) bool {
		_, added := s.Task(id2, "2.0.0")
		_, moved := s.Task(id2, "4.0.0")
		_, removed := s.Task(id2, "3.0.0")
		e, _ := s.Task(id1, "5.0.0")
		return labelOf(s, id1, "1.0.0") == "Saved early" && added && moved && !removed &&
			e != nil && len(e.TestFiles()) == 1 && labelOf(s, id2, "6.0.0") == "Swapped"
	})
}

// ctimeAfter reports whether a's change time is more than by after b's.
func ctimeAfter(t *testing.T, a, b string, by time.Duration) bool {
	t.Helper()
	ctime := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ctim.Nano()
	}
	return ctime(a) > ctime(b)+by.Nanoseconds()
}

// TestSourceSwappedDuringWatchSetup: another folder renamed into the
// source's place after the load, before the watcher follows it, is read
// whole, though its files are older than the load.
func TestSourceSwappedDuringWatchSetup(t *testing.T) {
	parent := t.TempDir()
	dir, prepared := filepath.Join(parent, "tasks"), filepath.Join(parent, "prepared")
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	// The same task folder, with other content: only the source folder's
	// own identity tells the swap.
	writeTree(t, prepared, taskFiles(id1, "1.0.0").With("metadata.json", strings.Replace(taskFiles(id1, "1.0.0")["metadata.json"], "Task 1.0.0", "Swapped", 1)).Under("a"))
	l, release := startStalled(t, dir, filepath.Join(prepared, "a", "metadata.json"))
	if err := os.Rename(dir, filepath.Join(parent, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(prepared, dir); err != nil {
		t.Fatal(err)
	}
	release()
	l.until(t, "the folder put in the source's place", func(s *Snapshot) bool {
		task, ok := s.Task(id1, "1.0.0")
		return ok && task.Label == "Swapped"
	})
}

// shortSlack is the catch-up slack of the tests that stall a watcher's
// setup. The files' clock is coarse (a tick of the kernel's clock, some
// milliseconds): a slack of two seconds is the default, these tests take
// a fortieth of it rather than wait.
const shortSlack = 50 * time.Millisecond

// startStalled starts a service on dir once the files' clock has moved on
// from older's change time by twice shortSlack, with its watcher's setup
// held until release is called (at 100,000 tasks the setup takes seconds:

// here it takes as long as the test needs).
func startStalled(t *testing.T, dir, older string) (*live, func()) {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "probe")
	if !watchertest.Eventually(10*time.Second, func() bool { write(t, probe, "x"); return ctimeAfter(t, probe, older, 2*shortSlack) }) {
		t.Fatal("the file times never moved on")
	}
	held := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(held) }) }
	cfg := testWatch(watcher.ModeFsnotify)
	cfg.NewNotify = func() (*fsnotify.Watcher, error) {
		<-held
		return fsnotify.NewWatcher()
	}
	l := startSources(t, Config{Watch: cfg, CatchUpSlack: shortSlack}, registry.Hooks{}, dir)
	t.Cleanup(release) // runs before the service's own cleanup stops it
	return l, release
}
