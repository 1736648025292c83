package registry

import (
	"context"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// Settling: a task that fails to load while its files are still changing
// is read again before its error is published, so that a save caught half
// way never shows up as an error (or an event) at all.
const (
	settleWait     = 25 * time.Millisecond  // between attempts
	settleQuiet    = 100 * time.Millisecond // files untouched this long are done
	settleAttempts = 8                      // then the error is published whatever
)

// follow applies the watcher's batches to one filesystem source.
func (s *Service) follow(ctx context.Context, ss *serviceSource, src *FSSource, batches <-chan watcher.Batch) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	settling := map[string]*settle{} // by absolute root path
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-batches:
			if b.Full {
				s.log.Info("full rescan", "source", src.Name(), "reason", b.Reason)
				s.scan(ctx, ss, b.First)
				continue
			}
			s.reload(ctx, ss, src, b.Paths, b.First, settling)
		case <-retry.C:
			var paths []string
			first := time.Now()
			for p, st := range settling {
				paths = append(paths, p)
				if st.first.Before(first) {
					first = st.first
				}
			}
			s.reload(ctx, ss, src, paths, first, settling)
		}
		if len(settling) > 0 {
			retry.Reset(settleWait)
		}
	}
}

type settle struct {
	attempts    int
	fingerprint string
	first       time.Time
}

// reload re-reads the roots that paths touch. A root whose load failed and
// whose files changed since the last attempt is held back and tried again.
func (s *Service) reload(ctx context.Context, ss *serviceSource, src *FSSource, paths []string, first time.Time, settling map[string]*settle) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	start := time.Now()
	changed, removed, err := src.Reload(ctx, paths)
	if ctx.Err() != nil {
		return
	}
	kept := changed[:0]
	for _, res := range changed {
		abs := src.abspath(res.Root)
		st := settling[abs]
		if res.Task != nil || !transient(res.Errors) {
			delete(settling, abs)
			kept = append(kept, res)
			continue
		}
		fp, newest := src.fingerprint(res.Root)
		if st == nil {
			st = &settle{first: first}
			settling[abs] = st
		}
		st.attempts++
		done := st.attempts > 1 && fp == st.fingerprint && time.Since(newest) >= settleQuiet
		if done || st.attempts >= settleAttempts {
			delete(settling, abs) // the files stopped changing: the error is real
			kept = append(kept, res)
			continue
		}
		st.fingerprint = fp
	}
	if len(kept) == 0 && len(removed) == 0 && err == nil {
		return
	}
	snap, swapped, events := s.reg.apply(Update{Source: ss.idx, Results: kept, Removed: removed, Err: err})
	s.observe(ss, snap, swapped, events, err, start, first)
}

// transient reports errors that a file caught mid-write produces: empty or
// cut-off content, a file missing between a rename and its replacement.
func transient(errs []*LoadError) bool {
	for _, e := range errs {
		if e.Kind == KindSyntax || e.Kind == KindMissing || e.Kind == KindArchive || e.Kind == KindIO {
			return true
		}
	}
	return false
}
