package fssource

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// failing is the real folder tree with one path that fails as an
// unreadable folder or an exhausted process would: the way to test what
// chmod 000 and EMFILE do without running as another user or using up
// the machine's descriptors.
type failing struct {
	fs.FS
	dir    string // the folder this FS is rooted at
	target string // the absolute path that fails
	op     string // "readdir" or "stat"
	err    error
}

func (f failing) fails(op, name string) error {
	if op == f.op && filepath.Join(f.dir, filepath.FromSlash(name)) == f.target {
		return &fs.PathError{Op: op, Path: name, Err: f.err}
	}
	return nil
}

func (f failing) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := f.fails("readdir", name); err != nil {
		return nil, err
	}
	return fs.ReadDir(f.FS, name)
}

func (f failing) Stat(name string) (fs.FileInfo, error) {
	if err := f.fails("stat", name); err != nil {
		return nil, err
	}
	return fs.Stat(f.FS, name)
}

func (f failing) Open(name string) (fs.File, error) {
	if err := f.fails("open", name); err != nil {
		return nil, err
	}
	return f.FS.Open(name)
}

func newUnwatched(t *testing.T, dir string) *Source {
	t.Helper()
	src, err := New(Config{Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}}, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// scanInto applies one complete scan of src.
func scanInto(reg *registry.Registry, idx int, src *Source) *Snapshot {
	u, _ := src.scan(context.Background(), time.Time{})
	u.Source = idx
	s, _ := reg.Apply(u)
	return s
}

// TestUnreadableKeepsTasks: a folder or file that cannot be read, for any
// of the reasons a real system gives, is an IO error naming it and the
// reason, and the tasks it held stay served, stale; they come back clean
// when it can be read again. Tasks elsewhere are loaded and removed as
// usual meanwhile.
func TestUnreadableKeepsTasks(t *testing.T) {
	errnos := []syscall.Errno{syscall.EACCES, syscall.EMFILE, syscall.ENFILE, syscall.EIO}
	places := []struct {
		name   string
		target string // relative to the source
		op     string
		how    string // as the error says it
	}{
		{"collection folder cannot be listed", "g", "readdir", "cannot list this collection folder, which held the task g/a"},
		{"task folder cannot be searched", "g/a/metadata.json", "stat", "cannot look into this task folder"},
		{"file cannot be opened", "g/a/main.js", "open", "main.js"},
	}
	for _, place := range places {
		for _, errno := range errnos {
			t.Run(place.name+"/"+errno.Error(), func(t *testing.T) {
				dir := t.TempDir()
				writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("g/a"), taskFiles(id2, "1.0.0").Under("b"),
					taskFiles(id2, "2.0.0").Under("c")))
				src := newUnwatched(t, dir)
				reg := registry.New(time.Now, nil)
				idx := reg.AddSource(src)
				if s := scanInto(reg, idx, src); s.VersionCount() != 3 {
					t.Fatalf("got %d versions, want 3:\n%s", s.VersionCount(), sourcetest.Listing(s))
				}
				clean := src.tree
				src.tree = func(d string) fs.FS {
					return failing{FS: clean(d), dir: d, target: filepath.Join(dir, place.target), op: place.op, err: errno}
				}
				if err := os.RemoveAll(filepath.Join(dir, "c")); err != nil {
					t.Fatal(err)
				}
				s := scanInto(reg, idx, src)
				task, ok := s.Task(id1, "1.0.0")
				if !ok || !task.Stale || task.Error == nil || task.Error.Kind != registry.KindIO {
					t.Fatalf("got %+v, want the last good task served, stale, with an IO error:\n%s", task, sourcetest.Listing(s))
				}
				msg := task.Error.Error()
				if !strings.Contains(msg, errno.Error()) || !strings.Contains(msg, place.how) ||
					!strings.HasPrefix(task.Error.Path, filepath.Join(dir, filepath.Dir(place.target))) {
					t.Errorf("got error %q, want it to name %s and %q", msg, place.target, errno.Error())
				}
				if _, ok := s.Task(id2, "1.0.0"); !ok {
					t.Errorf("the readable task b is gone")
				}
				if _, ok := s.Task(id2, "2.0.0"); ok {
					t.Errorf("the deleted task c is still served")
				}
				src.tree = clean
				s = scanInto(reg, idx, src)
				if task, ok := s.Task(id1, "1.0.0"); !ok || task.Stale || s.ErrorCount() != 0 {
					t.Errorf("got %+v with errors %v once readable, want the task clean", task, s.Errors())
				}
			})
		}
	}
}

// TestUnreadableFromTheStart: a folder unreadable at the first scan is an
// error of its own (there is nothing to keep), which clears, and gives way
// to its tasks, when it can be read; an incremental reload sees the same.
func TestUnreadableFromTheStart(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("g/a"))
	src := newUnwatched(t, dir)
	clean := src.tree
	src.tree = func(d string) fs.FS {
		return failing{FS: clean(d), dir: d, target: filepath.Join(dir, "g"), op: "readdir", err: syscall.EACCES}
	}
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(src)
	// Scanned twice while unreadable: g is never taken for a task folder.
	for range 2 {
		s := scanInto(reg, idx, src)
		if errs := s.Errors(); s.TaskCount() != 0 || len(errs) != 1 || errs[0].Path != filepath.Join(dir, "g") || !errors.Is(errs[0], syscall.EACCES) ||
			!strings.Contains(errs[0].Error(), "cannot list this folder, which may hold tasks") {
			t.Fatalf("got %d tasks and errors %v, want one IO error on g, a folder that may hold tasks", s.TaskCount(), errs)
		}
	}
	src.tree = clean
	u, _ := src.reload(context.Background(), []string{filepath.Join(dir, "g", "a", "main.js")}, time.Time{})
	u.Source = idx
	s, _ := reg.Apply(u)
	if _, ok := s.Task(id1, ""); !ok || s.ErrorCount() != 0 {
		t.Errorf("got %s, want the task and no error", sourcetest.Listing(s))
	}
}

// denied is the real folder tree with one folder under chmod 000 as a
// user who is not root sees it: the folder itself can be stat'ed, but not
// listed, and nothing in it can be stat'ed or opened. (The tests run as
// root, whom chmod 000 does not stop.)
type denied struct {
	fs.FS
	dir    string // the folder this FS is rooted at
	target string // the absolute path of the folder under chmod 000
}

func (d denied) check(name string, self bool) error {
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if (self && p == d.target) || strings.HasPrefix(p, d.target+string(filepath.Separator)) {
		return &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	return nil
}

func (d denied) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := d.check(name, true); err != nil {
		return nil, err
	}
	return fs.ReadDir(d.FS, name)
}

func (d denied) Stat(name string) (fs.FileInfo, error) {
	if err := d.check(name, false); err != nil {
		return nil, err
	}
	return fs.Stat(d.FS, name)
}

func (d denied) Open(name string) (fs.File, error) {
	if err := d.check(name, false); err != nil {
		return nil, err
	}
	return d.FS.Open(name)
}

// TestChmod000KeepsTasks: what a folder under chmod 000 held before stays
// served, stale, whatever kind of folder it was (a task folder, a
// collection, a collection of collections, the source's own folder), and
// the error names that folder as what it is. Before, the tasks of a
// collection were dropped, and the error named its metadata.json as if it
// were a task folder's.
func TestChmod000KeepsTasks(t *testing.T) {
	tests := []struct {
		name   string
		target string   // the folder under chmod 000, relative to the source
		kept   []string // the tasks kept stale, by version of id1
		what   string   // in the error of each
	}{
		{"task folder", "g/a", []string{"1.0.0"}, "cannot look into this task folder"},
		{"collection folder", "g", []string{"1.0.0", "1.1.0"}, "cannot look into this collection folder, which held the task g/"},
		{"collection of collections", "g/deep", []string{"1.1.0"}, "cannot look into this collection folder, which held the task g/deep/b"},
		{"the source folder", ".", []string{"1.0.0", "1.1.0", "1.2.0"}, "cannot look into this collection folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("g/a"), taskFiles(id1, "1.1.0").Under("g/deep/b"),
				taskFiles(id1, "1.2.0").Under("c")))
			src := newUnwatched(t, dir)
			reg := registry.New(time.Now, nil)
			idx := reg.AddSource(src)
			if s := scanInto(reg, idx, src); s.VersionCount() != 3 {
				t.Fatalf("got %d versions, want 3:\n%s", s.VersionCount(), sourcetest.Listing(s))
			}
			target := filepath.Join(dir, tc.target)
			clean := src.tree
			src.tree = func(d string) fs.FS { return denied{FS: clean(d), dir: d, target: target} }
			s := scanInto(reg, idx, src)
			if s.VersionCount() != 3 {
				t.Errorf("got %d versions, want all 3 still served:\n%s", s.VersionCount(), sourcetest.Listing(s))
			}
			for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
				task, ok := s.Task(id1, v)
				if !ok {
					continue
				}
				if !slices.Contains(tc.kept, v) {
					if task.Stale {
						t.Errorf("%s: stale with %v, want it clean: it is outside %s", v, task.Error, tc.target)
					}
					continue
				}
				if !task.Stale || task.Error == nil || task.Error.Kind != registry.KindIO || task.Error.Path != target ||
					!strings.Contains(task.Error.Error(), tc.what) || !errors.Is(task.Error, syscall.EACCES) {
					t.Errorf("%s: got stale %v with %v, want it stale with an IO error on %s that says %q", v, task.Stale, task.Error, target, tc.what)
				}
			}
			src.tree = clean
			s = scanInto(reg, idx, src)
			if s.VersionCount() != 3 || s.ErrorCount() != 0 {
				t.Errorf("got %s with errors %v once readable, want the three tasks clean", sourcetest.Listing(s), s.Errors())
			}
		})
	}
}

// TestChmodUnreadable is TestUnreadableKeepsTasks with a real chmod 000,
// which only stops a process that is not root (CI runs as root: there the
// injected failures above are what test this).
func TestChmodUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads through chmod 000; TestUnreadableKeepsTasks injects EACCES instead")
	}
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("g/a"))
	src := newUnwatched(t, dir)
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(src)
	scanInto(reg, idx, src)
	g := filepath.Join(dir, "g")
	if err := os.Chmod(g, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(g, 0o755) })
	s := scanInto(reg, idx, src)
	if task, ok := s.Task(id1, ""); !ok || !task.Stale || !errors.Is(task.Error, fs.ErrPermission) {
		t.Errorf("got %+v, want the task kept, stale, with permission denied", task)
	}
}

// gated blocks every listing of the source's folder until it is opened,
// and counts them: a scan that a test can hold in the middle.
type gated struct {
	fs.FS
	root    bool
	entered chan<- struct{}
	open    <-chan struct{}
	mu      *sync.Mutex
	scans   *int
}

func (g gated) ReadDir(name string) ([]fs.DirEntry, error) {
	if g.root && name == "." {
		g.mu.Lock()
		*g.scans++
		g.mu.Unlock()
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.open
	}
	return fs.ReadDir(g.FS, name)
}

// TestReloadCancelled: a reload whose asker gives up mid-scan does not
// corrupt the source: the scan finishes on the service's context, and a
// task deleted afterwards is removed by the next reload, with no watcher
// and no periodic rescan to make up for it. Reloads asked together share
// one scan.
func TestReloadCancelled(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b")))
	l := startService(t, watcher.ModeOff, dir)
	src := l.src[0]
	entered := make(chan struct{}, 1)
	open := make(chan struct{})
	var mu sync.Mutex
	scans := 0
	clean := src.tree
	src.tree = func(d string) fs.FS {
		return gated{FS: clean(d), root: d == src.abs, entered: entered, open: open, mu: &mu, scans: &scans}
	}

	ctx, cancel := context.WithCancel(context.Background())
	asked := make(chan error, 1)
	go func() { _, err := l.svc.Rescan(ctx); asked <- err }()
	<-entered // the scan is under way
	cancel()
	if err := <-asked; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the asker to stop waiting with its context", err)
	}
	// Two more askers while the scan is held: they share the next one.
	results := make(chan int64, 2)
	for range 2 {
		go func() {
			gen, err := l.svc.Rescan(context.Background())
			if err != nil {
				t.Error(err)
			}
			results <- gen
		}()
	}
	if err := os.RemoveAll(filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	close(open)
	g1, g2 := <-results, <-results
	s := l.reg.Snapshot()
	if _, ok := s.Task(id2, ""); ok {
		t.Errorf("the deleted task is still served after the reload:\n%s", sourcetest.Listing(s))
	}
	if _, ok := s.Task(id1, ""); !ok {
		t.Errorf("the other task is gone:\n%s", sourcetest.Listing(s))
	}
	mu.Lock()
	defer mu.Unlock()
	if g1 != g2 || scans != 2 {
		t.Errorf("got generations %d and %d after %d scans, want the two askers to share one scan after the cancelled one", g1, g2, scans)
	}
}
