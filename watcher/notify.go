package watcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// loop is what both modes share: the debouncer, its timer, the periodic
// rescan, and sending.
type loop struct {
	w      *Watcher
	d      *debouncer
	out    chan<- Batch
	timer  *time.Timer
	rescan <-chan time.Time
	stop   func()
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

// flush sends every batch that is due and sets the timer for the next.
func (l *loop) flush(ctx context.Context) error {
	now := time.Now()
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

// periodic asks for the safety-net rescan that repairs whatever a
// filesystem failed to report.
func (l *loop) periodic(ctx context.Context) error {
	return send(ctx, l.out, Batch{Full: true, Reason: "periodic", First: time.Now()})
}

func isLimit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// runNotify watches every folder of the tree with fsnotify, which has no
// recursive watch on Linux. It returns errLimit when the kernel refuses.
func (w *Watcher) runNotify(ctx context.Context, out chan<- Batch, _ bool) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		if isLimit(err) {
			return fmt.Errorf("%w: %v", errLimit, err)
		}
		return fmt.Errorf("start fsnotify: %w", err)
	}
	defer fw.Close()
	n := &notifier{w: w, fw: fw, watched: map[string]bool{}}
	if _, err := n.addTree(w.root); err != nil {
		return err
	}
	l := w.newLoop(out)
	defer l.close()
	if l.started(ctx) != nil {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			if err := n.handle(ev, l.d, time.Now()); err != nil {
				if errors.Is(err, errRootGone) {
					// Report everything pending, the removal included.
					_ = send(ctx, out, Batch{Full: true, Reason: "root removed", First: time.Now()})
				}
				return err
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			reason := "watch error"
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				reason = "overflow"
			}
			w.log.Warn("full rescan: events may have been lost", "root", w.root, "reason", reason, "error", err)
			l.d.addFull(reason, time.Now())
		case <-l.timer.C:
		case <-l.rescan:
			if l.periodic(ctx) != nil {
				return nil
			}
		}
		if l.flush(ctx) != nil {
			return nil
		}
	}
}

type notifier struct {
	w       *Watcher
	fw      *fsnotify.Watcher
	watched map[string]bool
}

// handle turns one event into changed paths. The event type is only a
// hint: the registry re-reads whatever the paths point at.
func (n *notifier) handle(ev fsnotify.Event, d *debouncer, now time.Time) error {
	if ev.Op == fsnotify.Chmod || n.w.ignored(ev.Name) {
		return nil
	}
	if ev.Has(fsnotify.Create) {
		if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
			// A folder created or moved in: its files were written before
			// the watch existed, so they count as new.
			files, err := n.addTree(ev.Name)
			if err != nil {
				return err
			}
			for _, f := range files {
				d.add(f, now)
			}
		}
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		n.unwatch(ev.Name)
		if ev.Name == n.w.root {
			d.add(ev.Name, now)
			return errRootGone
		}
	}
	d.add(ev.Name, now)
	return nil
}

// addTree watches dir and every folder under it, following symlinks but
// not around cycles, and returns the files it found.
func (n *notifier) addTree(dir string) ([]string, error) {
	var files []string
	var walk func(p string, seen []fileKey) error
	walk = func(p string, seen []fileKey) error {
		st, err := os.Stat(p)
		if err != nil {
			return nil // gone already: its removal is an event of its own
		}
		if !st.IsDir() {
			if st.Mode().IsRegular() {
				files = append(files, p)
			}
			return nil
		}
		k := keyOf(st)
		for _, s := range seen {
			if s == k {
				return nil
			}
		}
		if !n.watched[p] {
			if err := n.fw.Add(p); err != nil {
				if isLimit(err) {
					return fmt.Errorf("%w: watch %s: %v", errLimit, p, err)
				}
				return nil
			}
			n.watched[p] = true
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if err := walk(filepath.Join(p, e.Name()), append(seen, k)); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(dir, nil)
	n.w.setWatches(len(n.watched))
	return files, err
}

// unwatch forgets a folder that was removed or renamed, and all below it.
// Files are never watched, so for them this is one map lookup.
func (n *notifier) unwatch(p string) {
	if !n.watched[p] {
		return
	}
	prefix := p + string(filepath.Separator)
	for w := range n.watched {
		if w == p || strings.HasPrefix(w, prefix) {
			_ = n.fw.Remove(w) // the kernel may have dropped it already
			delete(n.watched, w)
		}
	}
	n.w.setWatches(len(n.watched))
}

type fileKey struct{ dev, ino uint64 }

func keyOf(st os.FileInfo) fileKey {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fileKey{uint64(s.Dev), uint64(s.Ino)}
	}
	return fileKey{}
}
