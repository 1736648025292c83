package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLog waits for a line of the watcher's log.
func (r *running) waitLog(t *testing.T, want string) {
	t.Helper()
	if !watchertest.Eventually(10*time.Second, func() bool { return strings.Contains(r.logs.String(), want) }) {
		t.Fatalf("no log %q; got:\n%s", want, r.logs)
	}
}

type running struct {
	w    *Watcher
	out  chan Batch
	logs *watchertest.Log
	stop func()
	dir  string
}

// start runs a watcher on dir until the test ends.
func start(t *testing.T, dir string, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &watchertest.Log{}
	r := &running{out: make(chan Batch), logs: logs, dir: dir}
	r.w = New(dir, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.w.Run(ctx, r.out)
	}()
	r.stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(r.stop)
	return r
}

// waitFor reads batches until one satisfies ok, or fails after a deadline.
func (r *running) waitFor(t *testing.T, what string, ok func(Batch) bool) Batch {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-r.out:
			if ok(b) {
				return b
			}
		case <-deadline:
			t.Fatalf("no batch with %s within 10s", what)
		}
	}
}

func (r *running) waitPath(t *testing.T, p string) Batch {
	t.Helper()
	return r.waitFor(t, p, func(b Batch) bool { return slices.Contains(b.Paths, p) })
}

// settled waits until the watcher has its watches in place: a write to a
// probe file comes through.
func (r *running) settled(t *testing.T) {
	t.Helper()
	probe := filepath.Join(r.dir, "probe-"+fmt.Sprint(time.Now().UnixNano()))
	came := watchertest.Eventually(10*time.Second, func() bool {
		write(t, probe, "x")
		select {
		case b := <-r.out:
			return slices.Contains(b.Paths, probe)
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})
	if !came {
		t.Fatal("watcher never settled")
	}
	_ = os.Remove(probe)
	r.waitPath(t, probe)
}

// write saves a file, making its folders.
var write = watchertest.Write

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fast(mode Mode) Config {
	return Config{Mode: mode, Debounce: 20 * time.Millisecond, MaxWait: 200 * time.Millisecond, PollInterval: 100 * time.Millisecond}
}

func TestNotifyEditorSaves(t *testing.T) {
	tests := []struct {
		name string
		save func(t *testing.T, dir, target string)
	}{
		{"plain write", func(t *testing.T, dir, target string) { write(t, target, "new") }},
		{"truncate then write", func(t *testing.T, dir, target string) {
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.WriteString("new")
			f.Close()
		}},
		{"temp file renamed over (VS Code, JetBrains)", func(t *testing.T, dir, target string) {
			tmp := target + "___jb_tmp___"
			write(t, tmp, "new")
			if err := os.Rename(tmp, target); err != nil {
				t.Fatal(err)
			}
		}},
		{"vim rename-write-delete", func(t *testing.T, dir, target string) {
			write(t, filepath.Join(filepath.Dir(target), "4913"), "")
			_ = os.Remove(filepath.Join(filepath.Dir(target), "4913"))
			if err := os.Rename(target, target+"~"); err != nil {
				t.Fatal(err)
			}
			write(t, target, "new")
			_ = os.Remove(target + "~")
		}},
		{"delete and recreate", func(t *testing.T, dir, target string) {
			_ = os.Remove(target)
			write(t, target, "new")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "task", "main.js")
			write(t, target, "old")
			r := start(t, dir, fast(ModeFsnotify))
			r.settled(t)
			tc.save(t, dir, target)
			b := r.waitPath(t, target)
			for _, p := range b.Paths {
				if scratch(filepath.Base(p)) {
					t.Errorf("got scratch file %s in %v", p, b.Paths)
				}
			}
			if r.w.Mode() != ModeFsnotify || r.w.Status().Watches != 2 {
				t.Errorf("got mode %s with %d watches, want fsnotify with 2", r.w.Mode(), r.w.Status().Watches)
			}
		})
	}
}

func TestNotifyFolders(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir, fast(ModeFsnotify))
	r.settled(t)

	// A folder moved in with files already inside: they count as new.
	outside := t.TempDir()
	write(t, filepath.Join(outside, "moved", "tests", "a.json"), "{}")
	write(t, filepath.Join(outside, "moved", "main.js"), "x")
	if err := os.Rename(filepath.Join(outside, "moved"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	r.waitPath(t, filepath.Join(dir, "moved", "tests", "a.json"))
	// And the new folders are watched from then on.
	write(t, filepath.Join(dir, "moved", "tests", "b.json"), "{}")
	r.waitPath(t, filepath.Join(dir, "moved", "tests", "b.json"))

	// A folder renamed: the old name and the new are both reported, and
	// the new one is watched.
	if err := os.Rename(filepath.Join(dir, "moved"), filepath.Join(dir, "renamed")); err != nil {
		t.Fatal(err)
	}
	r.waitPath(t, filepath.Join(dir, "moved"))
	write(t, filepath.Join(dir, "renamed", "tests", "c.json"), "{}")
	r.waitPath(t, filepath.Join(dir, "renamed", "tests", "c.json"))

	// Deleted and made again.
	if err := os.RemoveAll(filepath.Join(dir, "renamed")); err != nil {
		t.Fatal(err)
	}
	r.waitPath(t, filepath.Join(dir, "renamed"))
	write(t, filepath.Join(dir, "renamed", "x.json"), "{}")
	r.waitPath(t, filepath.Join(dir, "renamed", "x.json"))

	// Hidden folders and chmod alone are not changes.
	write(t, filepath.Join(dir, ".git", "index"), "x")
	if err := os.Chmod(filepath.Join(dir, "renamed", "x.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sentinel"), "x")
	b := r.waitPath(t, filepath.Join(dir, "sentinel"))
	for _, p := range b.Paths {
		if strings.Contains(p, ".git") || strings.HasSuffix(p, "x.json") {
			t.Errorf("got %s, which is not a change", p)
		}
	}
}

// TestMaxWait writes without pause: the quiet window never comes, and the
// cap sends a batch anyway.
func TestMaxWait(t *testing.T) {
	dir := t.TempDir()
	cfg := fast(ModeFsnotify)
	cfg.Debounce, cfg.MaxWait = 200*time.Millisecond, 300*time.Millisecond
	r := start(t, dir, cfg)
	r.settled(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				_ = os.WriteFile(filepath.Join(dir, "busy"), []byte(fmt.Sprint(i)), 0o644)
			}
		}
	}()
	r.waitPath(t, filepath.Join(dir, "busy"))
	close(stop)
	<-done
}

// TestOverflow stops reading batches while 30,000 files are created: the
// kernel's queue overflows, and the watcher asks for a full rescan.
func TestOverflow(t *testing.T) {
	dir := t.TempDir()
	cfg := fast(ModeFsnotify)
	// A short cap: the first batch falls due 20ms after the first write
	// whatever follows, and sending it blocks the watcher until the test
	// reads, which it does only after more events than the kernel queues
	// (16,384 by default) have happened.
	cfg.MaxWait = 20 * time.Millisecond
	r := start(t, dir, cfg)
	r.settled(t)
	queue := 16384
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			queue = n
		}
	}
	write(t, filepath.Join(dir, "first"), "x")
	for i := range queue + 14_000 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%05d", i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	r.waitFor(t, "a full rescan for overflow", func(b Batch) bool { return b.Full && b.Reason == "overflow" })
}

func TestPoll(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a", "main.js"), "old")
	r := start(t, dir, fast(ModePoll))
	r.settled(t)
	if r.w.Mode() != ModePoll {
		t.Errorf("got mode %s, want poll", r.w.Mode())
	}
	write(t, filepath.Join(dir, "a", "main.js"), "new!")
	r.waitPath(t, filepath.Join(dir, "a", "main.js"))
	write(t, filepath.Join(dir, "b", "metadata.json"), "{}")
	r.waitPath(t, filepath.Join(dir, "b", "metadata.json"))
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	r.waitPath(t, filepath.Join(dir, "a", "main.js"))
}

// TestAutoFallsBack gives the watcher a mount table in which the folder is
// on 9p, as a bind mount into a VM is: it must poll, and say why.
func TestAutoFallsBack(t *testing.T) {
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	mountinfo := filepath.Join(t.TempDir(), "mountinfo")
	write(t, mountinfo, "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"+
		"40 22 0:50 /src "+strings.ReplaceAll(real, " ", `\040`)+" rw,relatime - 9p hostshare rw,trans=virtio\n")
	cfg := fast(ModeAuto)
	cfg.MountInfo = mountinfo
	r := start(t, dir, cfg)
	r.settled(t)
	write(t, filepath.Join(dir, "x.json"), "{}")
	r.waitPath(t, filepath.Join(dir, "x.json"))
	if r.w.Mode() != ModePoll {
		t.Errorf("got mode %s, want poll on 9p", r.w.Mode())
	}
	r.waitLog(t, "filesystem=9p")
	// On a local filesystem, auto is fsnotify.
	cfg.MountInfo = filepath.Join(t.TempDir(), "none")
	local := start(t, t.TempDir(), cfg)
	local.settled(t)
	if local.w.Mode() != ModeFsnotify {
		t.Errorf("got mode %s, want fsnotify", local.w.Mode())
	}
}

func TestRemoteFilesystem(t *testing.T) {
	mi := filepath.Join(t.TempDir(), "mountinfo")
	write(t, mi, strings.Join([]string{
		"22 1 8:1 / / rw - ext4 /dev/vda rw",
		"30 22 0:40 / /work rw - virtiofs work rw",
		"31 30 0:41 / /work/local rw - ext4 /dev/vdb rw",
		"32 22 0:42 / /mnt/my\\040share rw shared:5 - cifs //h/s rw",
		"33 22 0:43 / /srv rw - fuse.sshfs host: rw",
		"34 22 0:44 / /nfs rw - nfs4 h:/e rw",
	}, "\n"))
	tests := []struct{ path, want string }{
		{"/work/tasks", "virtiofs"},
		{"/work/local/tasks", ""},
		{"/mnt/my share/x", "cifs"},
		{"/srv", "fuse.sshfs"},
		{"/nfs/a", "nfs4"},
		{"/home", ""},
		{"/workshop", ""},
	}
	for _, tc := range tests {
		if got := remoteFilesystem(mi, tc.path); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestRootAppears(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	r := start(t, dir, fast(ModeFsnotify))
	r.waitLog(t, "does not exist yet")
	write(t, filepath.Join(dir, "a", "metadata.json"), "{}")
	r.waitFor(t, "a full rescan when the root appears", func(b Batch) bool { return b.Full && b.Reason == "root appeared" })
	r.settled(t)
}

func TestPeriodicRescan(t *testing.T) {
	cfg := fast(ModeFsnotify)
	cfg.RescanInterval = 50 * time.Millisecond
	r := start(t, t.TempDir(), cfg)
	r.waitFor(t, "a periodic rescan", func(b Batch) bool { return b.Full && b.Reason == "periodic" })
}

func TestOff(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir, fast(ModeOff))
	write(t, filepath.Join(dir, "x"), "x")
	select {
	case b := <-r.out:
		t.Fatalf("got %v with watching off", b)
	case <-time.After(100 * time.Millisecond):
	}
	if r.w.Mode() != ModeOff {
		t.Errorf("got %s", r.w.Mode())
	}
}

func TestScratch(t *testing.T) {
	for _, name := range []string{"main.js.swp", ".main.js.swx", "main.js~", "4913", ".#main.js", "#main.js#", "x.tmp", ".goutputstream-ABC", "main.js___jb_tmp___"} {
		if !scratch(name) {
			t.Errorf("%s: want scratch", name)
		}
	}
	for _, name := range []string{"main.js", "metadata.json", "a.json", "tmp", "swp"} {
		if scratch(name) {
			t.Errorf("%s: want not scratch", name)
		}
	}
}

// outOfInstances starts no inotify instance, as for a user who has used
// up fs.inotify.max_user_instances: the kernel's EMFILE, injected rather
// than caused, so that no other test on the machine runs short.
func outOfInstances() (*fsnotify.Watcher, error) {
	return nil, fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE)
}

// TestAutoFallsBackAtTheLimit: with no inotify instance to be had, auto
// polls and says what to raise.
func TestAutoFallsBackAtTheLimit(t *testing.T) {
	dir := t.TempDir()
	cfg := fast(ModeAuto)
	cfg.NewNotify = outOfInstances
	r := start(t, dir, cfg)
	r.waitLog(t, "no inotify instance left")
	r.settled(t)
	if r.w.Mode() != ModePoll {
		t.Errorf("got mode %s, want poll", r.w.Mode())
	}
	if !strings.Contains(r.logs.String(), "max_user_instances") {
		t.Errorf("the log should say what to raise:\n%s", r.logs)
	}
}

// TestFsnotifyFailsAtTheLimit: an explicit fsnotify never falls back to
// polling; it fails, naming the setting to raise.
func TestFsnotifyFailsAtTheLimit(t *testing.T) {
	tests := []struct {
		name       string
		maxWatches int
		notify     func() (*fsnotify.Watcher, error)
		grow       bool // the tree passes the limit after the start
		want       string
	}{
		{"no instance", 0, outOfInstances, false, "fs.inotify.max_user_instances"},
		{"too many folders", 3, nil, false, "fs.inotify.max_user_watches"},
		{"a folder too many, later", 5, nil, true, "fs.inotify.max_user_watches"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"a", "b", "c"} {
				write(t, filepath.Join(dir, d, "main.js"), "x")
			}
			cfg := fast(ModeFsnotify)
			cfg.MaxWatches, cfg.NewNotify = tc.maxWatches, tc.notify
			w := New(dir, cfg, slog.New(slog.DiscardHandler))
			out := make(chan Batch, 100)
			done := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { done <- w.Run(ctx, out) }()
			if tc.grow {
				<-w.Ready()
				write(t, filepath.Join(dir, "d", "tests", "a.json"), "{}")
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cancel()
				<-done
				t.Fatal("Run went on past the limit")
			}
			var le *LimitError
			if !errors.As(err, &le) || le.Sysctl != tc.want || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a LimitError naming %s", err, tc.want)
			}
			if w.Mode() == ModePoll || w.Status().Polled != 0 {
				t.Errorf("got %+v: it fell back to polling", w.Status())
			}
		})
	}
}

// TestSplitAtTheLimit gives auto room for 4 watches in a tree of 13
// folders: the newest are watched, the rest polled, and a save anywhere
// comes through, in new folders too. The log says so once, with the
// setting that would cover the tree.
func TestSplitAtTheLimit(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, task := range []string{"g/a", "g/b", "g/c", "h/d", "h/e"} {
		write(t, filepath.Join(dir, task, "tests", "x.json"), "{}")
		write(t, filepath.Join(dir, task, "main.js"), "x")
		for _, d := range []string{task + "/tests", task, filepath.Dir(task)} {
			if err := os.Chtimes(filepath.Join(dir, d), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	// h/e is where work happens: its folders are the newest.
	now := time.Now()
	for _, d := range []string{"h/e", "h/e/tests"} {
		if err := os.Chtimes(filepath.Join(dir, d), now, now); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fast(ModeAuto)
	cfg.MaxWatches = 4
	r := start(t, dir, cfg)
	<-r.w.Ready()
	if st := r.w.Status(); st != (Status{Mode: ModeFsnotify, Watches: 4, Polled: 9}) {
		t.Errorf("got %+v, want 4 folders watched and 9 polled", st)
	}
	r.waitLog(t, "inotify limit reached")
	if !strings.Contains(r.logs.String(), "polled=9") || !strings.Contains(r.logs.String(), "sysctl -w fs.inotify.max_user_watches=") {
		t.Errorf("the log should say how many folders are polled and what to raise:\n%s", r.logs)
	}

	// Saves in a watched folder and in polled ones: in place, to the same
	// size (only the time tells), and by rename.
	for _, p := range []string{"h/e/tests/x.json", "g/a/tests/x.json", "g/b/main.js"} {
		p = filepath.Join(dir, p)
		write(t, p, strings.Repeat("y", len(readFile(t, p))))
		if err := os.Chtimes(p, now.Add(time.Minute), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		r.waitPath(t, p)
	}
	write(t, filepath.Join(dir, "g/c/main.js.tmp"), "renamed in")
	if err := os.Rename(filepath.Join(dir, "g/c/main.js.tmp"), filepath.Join(dir, "g/c/main.js")); err != nil {
		t.Fatal(err)
	}
	r.waitPath(t, filepath.Join(dir, "g/c/main.js"))

	// A task folder made in a polled folder: its files are new, and it is
	// followed from then on.
	write(t, filepath.Join(dir, "g/f/tests/y.json"), "{}")
	r.waitPath(t, filepath.Join(dir, "g/f/tests/y.json"))
	write(t, filepath.Join(dir, "g/f/tests/y.json"), "{\"changed\": true}")
	r.waitPath(t, filepath.Join(dir, "g/f/tests/y.json"))

	// A polled task removed: its files are reported gone.
	if err := os.RemoveAll(filepath.Join(dir, "g/a")); err != nil {
		t.Fatal(err)
	}
	r.waitPath(t, filepath.Join(dir, "g/a/main.js"))
	if st := r.w.Status(); st.Watches != 4 || st.Polled != 9 {
		t.Errorf("got %+v, want 4 watched and 9 polled (two folders in, two out)", st)
	}
	if n := strings.Count(r.logs.String(), "inotify limit reached"); n != 1 {
		t.Errorf("the limit was logged %d times, want once:\n%s", n, r.logs)
	}
}

// TestNewestWatchedFirst: past the limit, the folders changed last are
// the ones given inotify watches.
func TestNewestWatchedFirst(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		write(t, filepath.Join(dir, name, "main.js"), "x")
		at := time.Now().Add(time.Duration(i-10) * time.Hour) // e is the newest
		if err := os.Chtimes(filepath.Join(dir, name), at, at); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour * 24)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	w := New(dir, Config{}, slog.New(slog.DiscardHandler))
	tr := &tree{w: w, fw: fw, budget: 2, watched: map[string]bool{}, poll: newPoller(time.Second, DefaultPollCPU), found: func(string) {}}
	if err := tr.start(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{filepath.Join(dir, "e"): true, filepath.Join(dir, "d"): true}
	if !maps.Equal(tr.watched, want) || tr.poll.len() != 4 {
		t.Errorf("watched %v with %d polled, want %v and 4", tr.watched, tr.poll.len(), want)
	}
}

// TestRootRemovedAndBack: the watched folder itself goes away and comes
// back; watching starts over and picks up what it holds.
func TestRootRemovedAndBack(t *testing.T) {
	for _, mode := range []Mode{ModeFsnotify, ModePoll} {
		t.Run(string(mode), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "root")
			write(t, filepath.Join(dir, "a"), "x")
			r := start(t, dir, fast(mode))
			r.settled(t)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			r.waitFor(t, "a full rescan for the removal", func(b Batch) bool { return b.Full && b.Reason == "root removed" })
			write(t, filepath.Join(dir, "b", "c"), "x")
			r.waitFor(t, "a full rescan when it is back", func(b Batch) bool { return b.Full && b.Reason == "root appeared" })
			r.settled(t)
		})
	}
}

// TestRunSince: a watcher set up after a load began sends, once it
// follows each folder, the files that changed since the load began (the
// load may have read them before the change, and no watch saw it), and
// nothing older.
func TestRunSince(t *testing.T) {
	for _, mode := range []Mode{ModeFsnotify, ModePoll} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			old := []string{filepath.Join(dir, "t", "old.json"), filepath.Join(dir, "t", "tests", "old.json")}
			for _, p := range old {
				write(t, p, "{}")
			}
			ctime := func(p string) int64 {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				return ftree.ChangeTime(st)
			}
			// The load begins after the old files were written (once the
			// filesystem's clock has moved on), and two files change
			// during it.
			fresh := []string{filepath.Join(dir, "t", "main.js"), filepath.Join(dir, "t", "tests", "new.json")}
			moved := watchertest.Eventually(10*time.Second, func() bool {
				write(t, fresh[0], "x")
				return ctime(fresh[0]) > max(ctime(old[0]), ctime(old[1]))
			})
			if !moved {
				t.Fatal("the file times never moved on")
			}
			since := time.Unix(0, ctime(fresh[0]))
			write(t, fresh[1], "{}")

			ctx, cancel := context.WithCancel(context.Background())
			r := &running{out: make(chan Batch), logs: &watchertest.Log{}, dir: dir}
			cfg := fast(mode)
			if mode == ModeFsnotify {
				// No tick to wake the loop: what the setup found must be
				// sent on its own, not with the next event.
				cfg.PollInterval = time.Hour
			}
			r.w = New(dir, cfg, slog.New(slog.NewTextHandler(r.logs, nil)))
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = r.w.RunSince(ctx, r.out, since)
			}()
			t.Cleanup(func() { cancel(); <-done })

			seen := map[string]bool{}
			r.waitFor(t, "the files changed during the load", func(b Batch) bool {
				for _, p := range b.Paths {
					seen[p] = true
				}
				return seen[fresh[0]] && seen[fresh[1]]
			})
			// Everything sent up to a later save: no old file among it.
			probe := filepath.Join(dir, "probe")
			write(t, probe, "x")
			r.waitFor(t, "a later save", func(b Batch) bool {
				for _, p := range b.Paths {
					seen[p] = true
				}
				return seen[probe]
			})
			for _, p := range old {
				if seen[p] {
					t.Errorf("%s, older than the load, was sent as changed", p)
				}
			}
		})
	}
}
