package fssource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
	"github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// Settling: a task that fails to load while its files are still changing
// is read again before its error is published, so that a save caught half
// way never shows up as an error (or an event) at all.
const (
	settleWait     = 25 * time.Millisecond  // between attempts
	settleQuiet    = 100 * time.Millisecond // files untouched this long are done
	settleAttempts = 8                      // then the error is published whatever
)

type settle struct {
	attempts    int
	fingerprint string
	first       time.Time
}

// follow applies the watcher's batches and the rescans asked for until ctx
// ends or the watcher fails.
func (s *Source) follow(ctx context.Context, apply func(registry.Update), batches <-chan watcher.Batch,
	rescan <-chan registry.Rescan, watchErr <-chan error) error {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	// A full rescan that the watcher asks for too soon after the last one
	// (fullWait) waits, merged with any other asked meanwhile: a watcher
	// that loses its events, or a root that comes and goes, again and
	// again, keeps the source scanning half the time, not all of it.
	held := time.NewTimer(time.Hour)
	held.Stop()
	defer held.Stop()
	var heldFull *watcher.Batch
	settling := map[string]*settle{} // by root key
	setUp := s.watcher.Ready()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-setUp:
			setUp = nil
			if id := walk.FolderID(s.abs); id != s.loadedRoot && id != (walk.ID{}) {
				// Another folder put in the source's place during the
				// setup: read it whole.
				if u, ok := s.scan(ctx, time.Now()); ok {
					clear(settling)
					apply(u)
				}
			} else if paths := s.rootsMoved(ctx); len(paths) > 0 {
				s.reloadSettled(ctx, apply, paths, time.Now(), settling)
			}
			s.watchOnce.Do(func() { close(s.watching) })
		case err := <-watchErr:
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("the watcher stopped")
			}
			return fmt.Errorf("watch %s: %w", s.display, err)
		case r := <-rescan:
			if u, ok := s.scan(ctx, time.Time{}); ok {
				clear(settling)
				apply(u)
			}
			r.Done()
		case b := <-batches:
			if b.Full && b.Reason == watcher.ReasonPeriodic && !s.safetyNetDue(time.Now()) {
				continue
			}
			if b.Full {
				if wait := s.fullWait(time.Now()); wait > 0 {
					if heldFull == nil {
						heldFull = &b
						held.Reset(wait)
					} else if b.First.Before(heldFull.First) {
						heldFull.First = b.First
					}
					continue
				}
				s.fullScan(ctx, apply, b, settling)
				continue
			}
			s.reloadSettled(ctx, apply, b.Paths, b.First, settling)
		case <-held.C:
			s.fullScan(ctx, apply, *heldFull, settling)
			heldFull = nil
		case <-retry.C:
			var paths []string
			first := time.Now()
			for key, st := range settling {
				paths = append(paths, s.abspath(key))
				if st.first.Before(first) {
					first = st.first
				}
			}
			s.reloadSettled(ctx, apply, paths, first, settling)
		}
		if len(settling) > 0 {
			retry.Reset(settleWait)
		}
	}
}

// fullScan is the full rescan a batch asks for.
func (s *Source) fullScan(ctx context.Context, apply func(registry.Update), b watcher.Batch, settling map[string]*settle) {
	// The periodic safety net is no news unless it finds something, which
	// the service logs as a load; nor is a folder that never existed
	// "removed": the source's failure and the watcher's wait say it.
	level := slog.LevelInfo
	if b.Reason == watcher.ReasonPeriodic || s.scanEnded.IsZero() {
		level = slog.LevelDebug
	}
	s.log.Log(ctx, level, "full rescan", "source", s.name, "reason", b.Reason)
	if u, ok := s.scan(ctx, b.First); ok {
		clear(settling)
		apply(u)
	}
}

// minFullGap is the least time between the end of a full scan and the
// start of one that the watcher asks for.
const minFullGap = 100 * time.Millisecond

// fullWait is how long a full rescan asked for at now must wait: until as
// long as the last full scan took, and at least minFullGap, has passed
// since it ended. Not more than 0 when it may start at once.
func (s *Source) fullWait(now time.Time) time.Duration {
	if s.scanEnded.IsZero() {
		return 0
	}
	return s.scanEnded.Add(max(minFullGap, s.scanTook)).Sub(now)
}

// reloadSettled re-reads the roots that paths touch. A root whose load
// failed and whose files changed since the last attempt is held back and
// tried again.
func (s *Source) reloadSettled(ctx context.Context, apply func(registry.Update), paths []string, first time.Time, settling map[string]*settle) {
	u, ok := s.reload(ctx, paths, first)
	if !ok {
		return
	}
	kept := u.Results[:0]
	for _, res := range u.Results {
		st := settling[res.Root]
		if res.Task != nil || !transient(res.Errors) {
			delete(settling, res.Root)
			kept = append(kept, res)
			continue
		}
		fp, newest := s.fingerprint(res.Root)
		if st == nil {
			st = &settle{first: first}
			settling[res.Root] = st
		}
		st.attempts++
		done := st.attempts > 1 && fp == st.fingerprint && time.Since(newest) >= settleQuiet
		if done || st.attempts >= settleAttempts {
			delete(settling, res.Root) // the files stopped changing: the error is real
			kept = append(kept, res)
			continue
		}
		st.fingerprint = fp
	}
	u.Results = kept
	if len(u.Results) == 0 && len(u.Removed) == 0 && u.Err == nil && !u.Complete {
		return
	}
	apply(u)
}

// transient reports errors that a file caught mid-write produces: empty or
// cut-off content, a file missing between a rename and its replacement.
func transient(errs []*registry.LoadError) bool {
	for _, e := range errs {
		switch e.Kind {
		case registry.KindSyntax, registry.KindMissing, registry.KindArchive, registry.KindIO:
			return true
		}
	}
	return false
}

// fingerprint summarises the sizes and times of a root's files, and says
// when the newest was written, to tell a file still being written from one
// that is done.
func (s *Source) fingerprint(key string) (string, time.Time) {
	var b strings.Builder
	var newest time.Time
	// What cannot be read has no fingerprint; the load reports it.
	_ = walk.Walk(taskformat.DirFS(s.abspath(key)), ".", func(name string, info fs.FileInfo) (bool, error) {
		fmt.Fprintf(&b, "%s %d %d\n", name, info.Size(), info.ModTime().UnixNano())
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return true, nil
	})
	return b.String(), newest
}

// safetyNetEvery bounds the periodic rescan, which only guards against
// missed events, to a twentieth of the time: at 100,000 tasks a full
// rescan is most of a minute of reading, and rescan_interval's minute
// would have it run all the time.
const safetyNetEvery = 20

// safetyNetDue reports whether a periodic rescan may run at now: the last
// full scan ended at least safetyNetEvery times its length ago.
func (s *Source) safetyNetDue(now time.Time) bool {
	return s.scanEnded.IsZero() || now.Sub(s.scanEnded) >= safetyNetEvery*s.scanTook
}

// rootsMoved lists, once the watcher has set up after the first load,
// the task roots that changed while it did in a way no file's change time
// shows: roots that appeared or went (a folder renamed or moved keeps its
// files' times), and task folders (or their tests/) whose names changed
// (a file removed, a folder swapped in by rename: the folder's change
// time moves). It walks the source as a scan does and stats each task
// folder, without reading the tasks: at 100,000 tasks, two or three
// seconds.
func (s *Source) rootsMoved(ctx context.Context) []string {
	if s.watcher.Mode() == watcher.ModeOff || s.checkRoot() != nil {
		// A source folder that is gone is the watcher's to report: it
		// follows the folder's removal and return as a whole.
		return nil
	}
	found, _ := s.find(ctx, ".")
	var paths []string
	now := make(map[string]bool, len(found))
	for _, r := range found {
		now[r] = true
		if _, ok := s.known.Get(r); !ok || s.namesChanged(r) {
			paths = append(paths, s.abspath(r))
		}
	}
	for _, r := range knownUnder(s.known, ".") {
		if !now[r] {
			paths = append(paths, s.abspath(r))
		}
	}
	return paths
}

// namesChanged reports whether a task folder, or its tests/ folder,
// changed (by change time) since the first load began.
func (s *Source) namesChanged(root string) bool {
	if s.isZip(root) {
		return false // a file: its own change time is the watcher's
	}
	for _, p := range []string{s.abspath(root), filepath.Join(s.abspath(root), "tests")} {
		if st, err := os.Stat(p); err == nil && walk.ChangeTime(st) >= s.loadedSince {
			return true
		}
	}
	return false
}
