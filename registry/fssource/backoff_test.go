package fssource

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// TestLostEventsFloodBounded: a kernel that reports its event queue
// overflowed again and again (here, errors sent on the real inotify
// watcher's own channel as fast as it takes them) costs a full rescan no
// more often than fullWait allows, and a line of log no more often than
// the watcher's warnEvery; the tasks stay served. Before, every quiet
// window of the debounce (10ms here) was a full rescan, and every error
// a line of log.
func TestLostEventsFloodBounded(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	made := make(chan *fsnotify.Watcher, 1)
	cfg := testWatch(watcher.ModeFsnotify)
	cfg.NewNotify = func() (*fsnotify.Watcher, error) {
		fw, err := fsnotify.NewWatcher()
		if err == nil {
			made <- fw
		}
		return fw, err
	}
	l := startServiceWith(t, cfg, dir)
	fw := <-made
	<-l.src[0].Watching()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case fw.Errors <- fsnotify.ErrEventOverflow:
			case <-stop:
				return
			}
		}
	})
	// The flood ends before the service (and with it the watcher, which
	// closes the channel) stops.
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
	before := strings.Count(l.logs.String(), "msg=\"full rescan\"")
	time.Sleep(1500 * time.Millisecond) // the span of the flood that is counted
	logs := l.logs.String()
	scans := strings.Count(logs, "msg=\"full rescan\"") - before
	warned := strings.Count(logs, "events may have been lost")
	// fullWait's floor is 100ms: at most 15 in 1.5s, and one more that
	// was under way.
	if scans == 0 || scans > 16 || warned > 2 {
		t.Errorf("%d full rescans and %d lines of warning in 1.5s of lost events, want at most 16 and 2", scans, warned)
	}
	if _, ok := l.reg.Snapshot().Task(id1, "1.0.0"); !ok {
		t.Errorf("the task is gone")
	}
}

// TestFullRescanSpacing: a full rescan that the watcher asks for waits
// until as long as the last full scan took has passed since it ended (at
// least minFullGap): a source of 100,000 tasks whose watcher keeps losing
// events scans half the time, not all of it. The debounce's MaxWait is
// the only other bound, and it is shorter than such a scan.
func TestFullRescanSpacing(t *testing.T) {
	now := time.Now()
	tests := []struct {
		ended time.Time
		took  time.Duration
		wait  time.Duration
	}{
		{time.Time{}, 0, 0}, // never scanned
		{now.Add(-time.Second), 10 * time.Millisecond, -900 * time.Millisecond},
		{now.Add(-50 * time.Millisecond), 10 * time.Millisecond, minFullGap - 50*time.Millisecond},
		{now.Add(-5 * time.Second), 20 * time.Second, 15 * time.Second},
		{now.Add(-30 * time.Second), 20 * time.Second, -10 * time.Second},
	}
	for _, tc := range tests {
		s := &Source{scanEnded: tc.ended, scanTook: tc.took}
		if got := s.fullWait(now); got != tc.wait {
			t.Errorf("last scan took %v and ended %v ago: wait %v, want %v", tc.took, now.Sub(tc.ended), got, tc.wait)
		}
	}
}

// listings counts the folders listed through it.
type listings struct {
	fs.FS
	n *atomic.Int64
}

func (l listings) ReadDir(name string) ([]fs.DirEntry, error) {
	l.n.Add(1)
	return fs.ReadDir(l.FS, name)
}

// TestScanStopsWithContext: a scan whose context ends (the process was
// told to stop) lists no folder more and changes nothing: at 100,000
// tasks the walk alone is seconds that a shutdown would wait for.
func TestScanStopsWithContext(t *testing.T) {
	dir := t.TempDir()
	var files []registrytest.Files
	for i := range 20 {
		files = append(files, taskFiles(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "1.0.0").Under(fmt.Sprintf("c%d/t", i)))
	}
	writeTree(t, dir, mergeFiles(files...))
	src := newUnwatched(t, dir)
	var n atomic.Int64
	clean := src.tree
	src.tree = func(d string) fs.FS { return listings{FS: clean(d), n: &n} }
	if u, ok := src.scan(t.Context(), time.Time{}); !ok || len(u.Results) != 20 {
		t.Fatalf("got %d roots (ok %v), want 20", len(u.Results), ok)
	}
	n.Store(0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, ok := src.scan(ctx, time.Time{}); ok {
		t.Errorf("a scan after its context ended says it is complete")
	}
	if got := n.Load(); got != 0 {
		t.Errorf("%d folders listed after the context ended, want none", got)
	}
	if _, ok := src.known.Get("c0/t"); !ok {
		t.Errorf("the cancelled scan changed what the source knows")
	}
}
