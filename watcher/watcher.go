// Package watcher turns changes under a folder into debounced batches of
// changed paths: from fsnotify where the kernel delivers events, by
// polling where it does not. It knows nothing of what the files mean.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// Mode says how a tree is watched.
type Mode string

// The modes, as configured (watch.mode) and as reported.
const (
	ModeAuto     Mode = "auto"     // fsnotify, falling back to polling where it cannot work
	ModeFsnotify Mode = "fsnotify" // kernel events; a folder it cannot watch is an error
	ModePoll     Mode = "poll"     // stat the tree every poll interval
	ModeOff      Mode = "off"      // no watching: rescans only
)

// DefaultPollCPU is the share of the machine polling takes unless told:
// a tree too large to stat in a quarter of each interval is checked over
// several ticks instead of taking the machine.
const DefaultPollCPU = 0.25

// DefaultDebounce and DefaultMaxWait are Config's unless set;
// MinPollInterval is the shortest PollInterval.
const (
	DefaultDebounce = 50 * time.Millisecond
	DefaultMaxWait  = time.Second
	MinPollInterval = 100 * time.Millisecond
)

// Config says how to watch.
type Config struct {
	Mode         Mode
	Debounce     time.Duration // quiet time before a group of changes is sent
	MaxWait      time.Duration // longest a change waits under a constant stream of writes
	PollInterval time.Duration
	// PollCPU is the share of the machine's time (all its cores) that
	// polling may take: each tick stats for at most PollCPU of
	// PollInterval, on every core. 0 means DefaultPollCPU; above 1 is 1.
	PollCPU        float64
	RescanInterval time.Duration // periodic full rescans; 0 for none
	// Group maps a changed path to its debounce group (for the registry, its
	// task root): each group has its own quiet window. Nil groups by folder.
	Group func(path string) string
	// MountInfo is read to find filesystems that deliver no events; empty
	// means /proc/self/mountinfo.
	MountInfo string
	// MaxWatches caps the folders watched through inotify. Past it, auto
	// polls the folders that changed least lately, and fsnotify fails. 0
	// means, for auto, fs.inotify.max_user_watches less a tenth for the
	// user's other programs; for fsnotify, what the kernel allows.
	MaxWatches int
	// NewNotify starts an inotify instance; nil means fsnotify.NewWatcher.
	// Tests pass one that fails as it does for a user out of instances.
	NewNotify func() (*fsnotify.Watcher, error)
}

// Defaults fills in what the configuration left out.
func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeAuto
	}
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.PollInterval < MinPollInterval {
		c.PollInterval = MinPollInterval
	}
	if c.PollCPU <= 0 {
		c.PollCPU = DefaultPollCPU
	}
	c.PollCPU = min(c.PollCPU, 1)
	if c.Group == nil {
		c.Group = filepath.Dir
	}
	if c.MountInfo == "" {
		c.MountInfo = "/proc/self/mountinfo"
	}
	if c.NewNotify == nil {
		c.NewNotify = fsnotify.NewWatcher
	}
	return c
}

// Batch is a set of changes to reload. Paths are absolute, sorted, unique.
// Full means changes may have been missed: everything must be re-read.
type Batch struct {
	Paths  []string
	Full   bool
	Reason string    // why a full rescan: "overflow", "watch error", "periodic", "root appeared"
	First  time.Time // when the earliest change in the batch was seen
}

// ReasonPeriodic is the Reason of the full rescans that RescanInterval
// asks for: a safety net, which a source may put off.
const ReasonPeriodic = "periodic"

// Watcher watches one folder tree.
type Watcher struct {
	root string
	cfg  Config
	log  *slog.Logger

	mu     sync.Mutex
	status Status

	ready     chan struct{}
	readyOnce sync.Once
	appeared  bool  // the root was missing at start; owned by Run's goroutine
	from      int64 // see RunSince; owned by Run's goroutine
}

// New makes a watcher of root; Run starts it.
func New(root string, cfg Config, log *slog.Logger) *Watcher {
	cfg = cfg.withDefaults()
	return &Watcher{root: filepath.Clean(root), cfg: cfg, log: log, status: Status{Mode: cfg.Mode}, ready: make(chan struct{})}
}

// Ready is closed once the watcher sees every change from then on: its
// watches are in place, or its polling has its first picture of the tree.
// A load that starts after Ready misses nothing.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

func (w *Watcher) markReady() { w.readyOnce.Do(func() { close(w.ready) }) }

// Status is how a watcher follows its tree, for people to see.
type Status struct {
	// Mode is the mode in force: fsnotify, poll or off once Run has
	// chosen (auto until then).
	Mode Mode
	// Watches is the number of folders watched through inotify.
	Watches int
	// Polled is the number of folders polled: every folder in poll mode;
	// in fsnotify mode, those past the inotify limit.
	Polled int
	// PollRound is how long the last round of the polled folders took,
	// from a folder's check to its next: the longest a save in a task
	// untouched for a while waits to be seen. 0 until a round is done.
	PollRound time.Duration
}

// Status is how the watcher follows its tree now.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Mode is the mode in force: fsnotify, poll or off, once Run has chosen.
func (w *Watcher) Mode() Mode { return w.Status().Mode }

func (w *Watcher) setMode(m Mode) {
	w.mu.Lock()
	w.status.Mode = m
	w.mu.Unlock()
}

func (w *Watcher) setCounts(watches, polled int) {
	w.mu.Lock()
	w.status.Watches, w.status.Polled = watches, polled
	if polled == 0 {
		w.status.PollRound = 0
	}
	w.mu.Unlock()
}

func (w *Watcher) setRound(d time.Duration) {
	w.mu.Lock()
	w.status.PollRound = d
	w.mu.Unlock()
}

// RunSince is Run for a watcher set up after a load that started at
// since, or alongside it: whatever changed at or after since (by change
// time) is sent as changed once its folder is followed, since the load
// may have read it before the change and no watch was there to see it.
// The catalogue can be served as soon as it is loaded, without waiting
// for the setup, which at 100,000 tasks is seconds of listing folders and
// placing watches.
func (w *Watcher) RunSince(ctx context.Context, out chan<- Batch, since time.Time) error {
	w.from = since.UnixNano()
	return w.Run(ctx, out)
}

// Run watches until ctx ends and sends batches on out. It returns when
// every goroutine it started has stopped.
func (w *Watcher) Run(ctx context.Context, out chan<- Batch) error {
	defer w.markReady() // whatever happens, nobody waits for ever
	if w.cfg.Mode == ModeOff {
		w.setMode(ModeOff)
		w.markReady()
		<-ctx.Done()
		return nil
	}
	again := false
	base := min(w.cfg.PollInterval, 250*time.Millisecond)
	delay := base
	for {
		appeared, err := w.waitForRoot(ctx, out)
		if err != nil {
			return nil // ctx ended
		}
		// A root that appeared late, or came back, is rescanned once it
		// is watched, so that nothing written meanwhile is missed.
		w.appeared = appeared || again
		again = true
		began := time.Now()
		err = w.watch(ctx, out)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errRootGone) {
			return err
		}
		w.setCounts(0, 0)
		// Watching starts over no sooner than the back-off, which doubles
		// while watches end as soon as they start: a root that is there
		// but cannot be followed (unreadable, replaced as each setup
		// begins) would otherwise be set up, logged and rescanned in a
		// loop that takes a core.
		if time.Since(began) > 2*delay {
			delay = base
		}
		if _, err := os.Stat(w.root); err != nil {
			w.log.Warn("the watched path was removed; waiting for it to come back", "root", w.root)
		} else {
			w.log.Warn("the watched path cannot be followed; trying again", "root", w.root, "in", delay)
		}
		if sleep(ctx, delay) != nil {
			return nil
		}
		delay = min(2*delay, maxRetry)
	}
}

// maxRetry is the longest the back-off between two setups of a watch
// grows to.
const maxRetry = 30 * time.Second

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errRootGone ends a mode when the root itself is removed or renamed: its
// watch is gone with it, so watching starts over when it is back.
var errRootGone = errors.New("watched folder removed")

// watch runs the configured mode. auto falls back to polling, wholly or
// for the folders past the inotify limit; an explicit fsnotify does not:
// it fails with a LimitError that names the setting to raise.
func (w *Watcher) watch(ctx context.Context, out chan<- Batch) error {
	mode := w.cfg.Mode
	if mode == ModeAuto {
		if fs := remoteFilesystem(w.cfg.MountInfo, w.root); fs != "" {
			w.log.Warn("polling: this filesystem delivers no change events", "root", w.root, "filesystem", fs, "poll_interval", w.cfg.PollInterval)
			mode = ModePoll
		}
	}
	st, err := os.Stat(w.root)
	if err != nil {
		return rootGone(ctx, out, errRootGone)
	}
	file := !st.IsDir()
	if mode == ModePoll {
		return w.pollOnly(ctx, out, file)
	}
	fw, err := w.cfg.NewNotify()
	switch {
	case err != nil && isLimit(err) && mode == ModeAuto:
		w.log.Warn("polling: no inotify instance left for this user", "root", w.root, "error", err,
			"hint", "raise "+sysctlInstances+" (sysctl -w "+sysctlInstances+"=N)", "poll_interval", w.cfg.PollInterval)
		return w.pollOnly(ctx, out, file)
	case err != nil && isLimit(err):
		return &LimitError{Root: w.root, Sysctl: sysctlInstances, Now: readSysctl(sysctlInstances), Err: err}
	case err != nil:
		return fmt.Errorf("start fsnotify: %w", err)
	}
	defer fw.Close()
	if file {
		return w.runFile(ctx, out, fw, mode == ModeFsnotify)
	}
	budget := w.cfg.MaxWatches
	if budget <= 0 {
		budget = int(^uint(0) >> 1) // fsnotify: what the kernel allows
		if mode == ModeAuto {
			budget = autoBudget(readSysctl(sysctlWatches))
		}
	}
	w.setMode(ModeFsnotify)
	return w.run(ctx, out, fw, budget, mode == ModeFsnotify)
}

// pollOnly follows the root by polling alone; file when it is a file.
func (w *Watcher) pollOnly(ctx context.Context, out chan<- Batch, file bool) error {
	w.setMode(ModePoll)
	if file {
		return w.runFile(ctx, out, nil, false)
	}
	return w.run(ctx, out, nil, 0, false)
}

// waitForRoot reports a missing root and waits for it to appear; true
// when it had to wait.
func (w *Watcher) waitForRoot(ctx context.Context, out chan<- Batch) (bool, error) {
	if _, err := os.Stat(w.root); err == nil {
		return false, nil
	}
	w.log.Warn("the path to watch does not exist yet; waiting for it", "root", w.root)
	if w.from != 0 {
		// A load read the folder before it went (RunSince): it is told,
		// with a full rescan, as when a watched folder goes.
		if err := send(ctx, out, Batch{Full: true, Reason: "root removed", First: time.Now()}); err != nil {
			return false, err
		}
		w.from = 0
	}
	w.markReady() // its appearance is a full rescan: nothing can be missed
	t := time.NewTicker(min(w.cfg.PollInterval, 250*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
			if _, err := os.Stat(w.root); err == nil {
				w.log.Info("the path to watch appeared", "root", w.root)
				return true, nil
			}
		}
	}
}

func send(ctx context.Context, out chan<- Batch, b Batch) error {
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ignored is true for paths no loader reads: editor scratch files, and
// anything hidden, at any depth.
func (w *Watcher) ignored(path string) bool {
	rel, err := filepath.Rel(w.root, path)
	if err != nil || rel == "." {
		return false
	}
	parts := strings.Split(rel, string(filepath.Separator))
	for _, p := range parts {
		if ftree.Hidden(p) {
			return true
		}
	}
	return scratch(parts[len(parts)-1])
}

// scratch recognises the temporary files that editors write beside the
// file being saved.
func scratch(name string) bool {
	switch {
	case name == "4913", // vim's probe for a writable folder
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swx"), strings.HasSuffix(name, ".swo"),
		strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasSuffix(name, ".tmp"),
		strings.HasPrefix(name, ".goutputstream-"),
		strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"):
		return true
	}
	return false
}

func (w *Watcher) String() string { return fmt.Sprintf("watcher(%s, %s)", w.root, w.Mode()) }
