package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// A root that is a file (a task .zip given as a source's path) is
// followed through its folder, whose events name it: a watch on the
// file itself would follow the inode, and an editor or a copy that
// replaces the file by rename would leave it watching the old one. The
// file is stat'ed at every tick as well, in both modes: that is all
// polling it costs, and it catches what a bind mount does not report.
// Its removal and return are full rescans, as a folder root's are, but
// they do not end the watch: the folder's watch sees the file come back.

// fileRoot follows a root that is a file.
type fileRoot struct {
	w       *Watcher
	l       *loop
	fw      *fsnotify.Watcher // nil: polled
	parent  string
	parents ftree.ID // the folder watched; a new one in its place is not
	present bool
	last    fileState
}

// runFile follows a root that is a file until ctx ends, or its folder
// goes (errRootGone: Run waits for the file to be back). fw is the
// inotify instance to watch its folder with; nil to poll.
func (w *Watcher) runFile(ctx context.Context, out chan<- Batch, fw *fsnotify.Watcher, strict bool) error {
	l := w.newLoop(out)
	defer l.close()
	f := &fileRoot{w: w, l: l, fw: fw, parent: filepath.Dir(w.root)}
	f.parents = ftree.FolderID(f.parent)
	if fw != nil {
		if err := fw.Add(f.parent); err != nil {
			switch {
			case f.parents == (ftree.ID{}):
				return rootGone(ctx, out, errRootGone) // its folder went as the setup began
			case strict && isLimit(err):
				return &LimitError{Root: w.root, Sysctl: sysctlWatches, Now: readSysctl(sysctlWatches), Err: err}
			case strict:
				return fmt.Errorf("watch %s: %w", f.parent, err)
			}
			w.log.Warn("polling: the folder of the watched file cannot be watched", "root", w.root, "error", err,
				"hint", "with no inotify watch left, raise "+sysctlWatches+" (sysctl -w "+sysctlWatches+"=N)", "poll_interval", w.cfg.PollInterval)
			f.fw = nil
		}
	}
	if f.fw != nil {
		w.setMode(ModeFsnotify)
		w.setCounts(1, 0)
	} else {
		w.setMode(ModePoll)
		w.setCounts(0, 1)
	}
	st, err := os.Stat(w.root)
	if err != nil {
		return rootGone(ctx, out, errRootGone)
	}
	f.present, f.last = true, stateOf(st)
	if w.from != 0 && f.last.ctime >= w.from {
		l.d.add(w.root, time.Now()) // changed after the load began: it may have read the old file
	}
	w.from = 0
	if l.started(ctx) != nil || l.flush(ctx) != nil {
		return nil
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if f.fw != nil {
		events, errs = f.fw.Events, f.fw.Errors
	}
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			switch {
			case ev.Name == f.parent && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)):
				return f.gone(ctx)
			case ev.Name == w.root && ev.Op != fsnotify.Chmod:
				f.check(time.Now())
			}
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			f.check(time.Now())
			l.watchError(err, time.Now())
		case now := <-tick.C:
			if f.fw != nil && ftree.FolderID(f.parent) != f.parents {
				// The folder went, and maybe came back: its watch
				// went with it, and a new one must be set up.
				return f.gone(ctx)
			}
			f.check(now)
		case <-l.timer.C:
		case <-l.rescan:
			l.periodic = true
		}
		if l.flush(ctx) != nil {
			return nil
		}
	}
}

// check compares the file with what was seen of it last: a change is a
// changed path; its removal or its return, a full rescan (the reader
// cannot reload a root that is not there, nor knows there is one).
func (f *fileRoot) check(now time.Time) {
	st, err := os.Stat(f.w.root)
	switch {
	case err != nil && f.present:
		f.present = false
		f.l.d.addFull("root removed", now)
	case err != nil:
	case !f.present:
		f.present, f.last = true, stateOf(st)
		f.l.d.addFull("root appeared", now)
	case stateOf(st) != f.last:
		f.last = stateOf(st)
		f.l.d.add(f.w.root, now)
	}
}

// gone ends the watch of a file whose folder went: what is pending is
// sent, with a full rescan for the file, which went with its folder.
func (f *fileRoot) gone(ctx context.Context) error {
	f.w.setCounts(0, 0)
	if f.present {
		f.l.d.addFull("root removed", time.Now())
	}
	if b, ok := f.l.d.take(time.Now().Add(f.w.cfg.MaxWait)); ok {
		_ = send(ctx, f.l.out, b)
	}
	return errRootGone
}
