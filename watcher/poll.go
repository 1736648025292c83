package watcher

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// fileState is what polling compares: any difference is a change.
type fileState struct {
	size  int64
	mtime time.Time
	mode  fs.FileMode
	key   fileKey
}

// runPoll stats the whole tree every poll interval. It is the mode for
// filesystems that deliver no events (bind mounts in dev containers,
// network filesystems) and for when inotify's limits are reached.
func (w *Watcher) runPoll(ctx context.Context, out chan<- Batch) error {
	l := w.newLoop(out)
	defer l.close()
	prev := w.scanTree()
	if l.started(ctx) != nil {
		return nil
	}
	tick := time.NewTicker(w.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := os.Stat(w.root); err != nil {
				_ = send(ctx, out, Batch{Full: true, Reason: "root removed", First: time.Now()})
				return errRootGone
			}
			cur := w.scanTree()
			now := time.Now()
			for p, st := range cur {
				if old, ok := prev[p]; !ok || old != st {
					l.d.add(p, now)
				}
			}
			for p := range prev {
				if _, ok := cur[p]; !ok {
					l.d.add(p, now)
				}
			}
			prev = cur
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

// scanTree stats every entry under the root, as discovery would see it.
func (w *Watcher) scanTree() map[string]fileState {
	out := map[string]fileState{}
	var walk func(p string, seen []fileKey)
	walk = func(p string, seen []fileKey) {
		st, err := os.Stat(p)
		if err != nil {
			return
		}
		k := keyOf(st)
		out[p] = fileState{size: st.Size(), mtime: st.ModTime(), mode: st.Mode(), key: k}
		if !st.IsDir() {
			return
		}
		for _, s := range seen {
			if s == k {
				return
			}
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") && !scratch(e.Name()) {
				walk(filepath.Join(p, e.Name()), append(seen, k))
			}
		}
	}
	walk(w.root, nil)
	return out
}
