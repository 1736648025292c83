package watcher

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/fsnotify/fsnotify"
	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// loop is what every mode shares: the debouncer, its timer, the periodic
// rescan, and sending.
type loop struct {
	w      *Watcher
	d      *debouncer
	out    chan<- Batch
	timer  *time.Timer
	rescan <-chan time.Time
	stop   func()
	// periodic is set when a tick of rescan came: the next flush sends
	// the full rescan first.
	periodic bool
	// warned is when a watch error was last logged, and unsaid how many
	// came since: an inotify queue that overflows again and again is one
	// line a warnEvery, not one an error.
	warned time.Time
	unsaid int
}

// warnEvery is the least time between two lines of log about watch errors.
const warnEvery = 10 * time.Second

// watchError asks for a full rescan, since events may have been lost,
// and logs it, at most once a warnEvery.
func (l *loop) watchError(err error, now time.Time) {
	reason := "watch error"
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		reason = "overflow"
	}
	l.d.addFull(reason, now)
	if !l.warned.IsZero() && now.Sub(l.warned) < warnEvery {
		l.unsaid++
		return
	}
	l.w.log.Warn("full rescan: events may have been lost", "root", l.w.root, "reason", reason, "error", err, "since_last_line", l.unsaid)
	l.warned, l.unsaid = now, 0
}

func (w *Watcher) newLoop(out chan<- Batch) *loop {
	l := &loop{w: w, d: newDebouncer(w.cfg), out: out, timer: time.NewTimer(time.Hour), stop: func() {}}
	l.timer.Stop()
	if w.cfg.RescanInterval > 0 {
		t := time.NewTicker(w.cfg.RescanInterval)
		l.rescan, l.stop = t.C, t.Stop
	}
	return l
}

// started ends the setup of a mode: once every change is seen, a root
// that appeared late is read whole.
func (l *loop) started(ctx context.Context) error {
	l.w.markReady()
	if l.w.appeared {
		l.w.appeared = false
		return send(ctx, l.out, Batch{Full: true, Reason: "root appeared", First: time.Now()})
	}
	return nil
}

func (l *loop) close() {
	l.timer.Stop()
	l.stop()
}

// flush sends the periodic rescan when one is asked for, then every
// batch that is due, and sets the timer for the next.
func (l *loop) flush(ctx context.Context) error {
	now := time.Now()
	if l.periodic {
		l.periodic = false
		if err := send(ctx, l.out, Batch{Full: true, Reason: ReasonPeriodic, First: now}); err != nil {
			return err
		}
	}
	for {
		b, ok := l.d.take(now)
		if !ok {
			break
		}
		if err := send(ctx, l.out, b); err != nil {
			return err
		}
	}
	if at, ok := l.d.next(); ok {
		l.timer.Reset(time.Until(at))
	} else {
		l.timer.Stop()
	}
	return nil
}

// run follows the tree: through fw where it can (nil: nowhere), by
// polling elsewhere. strict makes a folder that inotify cannot take an
// error instead of a polled folder.
func (w *Watcher) run(ctx context.Context, out chan<- Batch, fw *fsnotify.Watcher, budget int, strict bool) error {
	l := w.newLoop(out)
	defer l.close()
	now := time.Now()
	t := &tree{w: w, fw: fw, budget: budget, strict: strict, watched: map[string]bool{}, poll: newPoller(w.cfg.PollInterval, w.cfg.PollCPU),
		limit: readSysctl(sysctlWatches), found: func(p string) { l.d.add(p, now) }, from: w.from}
	w.from = 0 // a later setup (the root came back) is followed by a full rescan
	// The root as it is followed: one removed and made again between two
	// ticks (rm -rf, then a copy) is another folder, which nothing
	// watches, though a stat of its path succeeds.
	rootID := ftree.FolderID(w.root)
	if err := t.start(); err != nil {
		return rootGone(ctx, out, err)
	}
	// Folders made while the setup ran, found between a folder's listing
	// and its watch, are followed now: nothing else would.
	if err := t.drain(now); err != nil {
		return rootGone(ctx, out, err)
	}
	t.logLimit()
	if l.started(ctx) != nil {
		return nil
	}
	// What the setup found (the files changed since a load began) is
	// due a debounce from now: the timer must be set for it, or it
	// waits for the first event or tick.
	if l.flush(ctx) != nil {
		return nil
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if fw != nil {
		events, errs = fw.Events, fw.Errors
	}
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	// The round of a tick is done in short steps, each taken when
	// stepping is ready, so that events and batches are never held up
	// behind a long walk.
	var stepping <-chan struct{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			now = time.Now()
			if err := t.handle(ev, now); err != nil {
				return rootGone(ctx, out, err)
			}
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			l.watchError(err, time.Now())
		case now = <-tick.C:
			if id := ftree.FolderID(w.root); id == (ftree.ID{}) || id != rootID {
				_ = send(ctx, out, Batch{Full: true, Reason: "root removed", First: now})
				return errRootGone
			}
			if t.poll.len() > 0 {
				t.poll.startTick(now, t)
				stepping = ready
				if err := t.drain(now); err != nil {
					return rootGone(ctx, out, err)
				}
			}
		case <-stepping:
			now = time.Now()
			if !t.poll.step(5*time.Millisecond, t) {
				stepping = nil
			}
			t.roundDone()
			if err := t.drain(now); err != nil {
				return rootGone(ctx, out, err)
			}
		case <-l.timer.C:
		case <-l.rescan:
			l.periodic = true
		}
		if l.flush(ctx) != nil {
			return nil
		}
	}
}

// ready is always ready to receive from.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// rootGone reports, when the error is the root's removal, everything
// pending, the removal included.
func rootGone(ctx context.Context, out chan<- Batch, err error) error {
	if errors.Is(err, errRootGone) {
		_ = send(ctx, out, Batch{Full: true, Reason: "root removed", First: time.Now()})
	}
	return err
}

// handle turns one event into changed paths. The event type is only a
// hint: the registry re-reads whatever the paths point at.
func (t *tree) handle(ev fsnotify.Event, now time.Time) error {
	if ev.Op == fsnotify.Chmod || t.w.ignored(ev.Name) {
		return nil
	}
	if ev.Has(fsnotify.Create) {
		if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
			// A folder created or moved in: its files were written before
			// the watch existed, so they count as new.
			if err := t.addTree(ev.Name, now); err != nil {
				return err
			}
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		t.forget(ev.Name)
		if ev.Name == t.w.root {
			t.found(ev.Name)
			return errRootGone
		}
	}
	t.found(ev.Name)
	return nil
}
