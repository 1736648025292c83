package watcher

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer collects logs written from the watcher's goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits for a line of the watcher's log.
func (r *running) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log %q; got:\n%s", want, r.logs)
		}
		time.Sleep(time.Millisecond)
	}
}

type running struct {
	w    *Watcher
	out  chan Batch
	logs *logBuffer
	stop func()
	dir  string
}

// start runs a watcher on dir until the test ends.
func start(t *testing.T, dir string, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
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
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		write(t, probe, "x")
		select {
		case b := <-r.out:
			if slices.Contains(b.Paths, probe) {
				_ = os.Remove(probe)
				r.waitPath(t, probe)
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("watcher never settled")
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fast(mode string) Config {
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
			if r.w.Mode() != ModeFsnotify || r.w.Watches() != 2 {
				t.Errorf("got mode %s with %d watches, want fsnotify with 2", r.w.Mode(), r.w.Watches())
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

// TestAutoFallsBackAtTheLimit uses up this user's inotify instances, as a
// machine full of watchers would: the watcher must poll and say why.
func TestAutoFallsBackAtTheLimit(t *testing.T) {
	var held []*fsnotify.Watcher
	defer func() {
		for _, w := range held {
			w.Close()
		}
	}()
	limited := false
	for range 1 << 16 {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			if !isLimit(err) {
				t.Fatalf("got %v, want EMFILE", err)
			}
			limited = true
			break
		}
		held = append(held, w)
	}
	if !limited {
		t.Fatalf("%d inotify instances and no limit reached: raise the bound of this test", len(held))
	}
	dir := t.TempDir()
	r := start(t, dir, fast(ModeAuto))
	r.waitLog(t, "cannot watch every folder")
	for _, w := range held {
		w.Close()
	}
	held = nil
	r.settled(t)
	if r.w.Mode() != ModePoll {
		t.Errorf("got mode %s, want poll", r.w.Mode())
	}
	if !strings.Contains(r.logs.String(), "max_user_instances") {
		t.Errorf("the log should say what to raise:\n%s", r.logs)
	}
}

// TestRootRemovedAndBack: the watched folder itself goes away and comes
// back; watching starts over and picks up what it holds.
func TestRootRemovedAndBack(t *testing.T) {
	for _, mode := range []string{ModeFsnotify, ModePoll} {
		t.Run(mode, func(t *testing.T) {
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
