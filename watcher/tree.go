package watcher

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// tree is one watch of the root: every folder in it is either watched
// through inotify or polled. Owned by the goroutine of Run.
type tree struct {
	w       *Watcher
	fw      *fsnotify.Watcher // nil: poll everything
	budget  int               // most folders to watch through fw
	strict  bool              // explicit fsnotify: a folder it cannot watch is an error
	watched map[string]bool
	poll    *poller
	from    int64 // report what changed from then on (unix ns) as the setup follows it; 0 for nothing
	limit   int   // fs.inotify.max_user_watches at the start, 0 if unknown
	total   int   // folders found at the start
	warned  bool  // the limit was logged
	rounds  int   // poll rounds reported
	slow    bool  // a slow poll round was logged
	// found gathers, during a change, the paths to report and the
	// folders that appeared, which are tracked once the check is done.
	found   func(string)
	pending []string
	failed  error
}

// folder is a folder found by a walk, with what polling needs of it.
type folder struct {
	path    string
	state   fileState
	entries []entry
}

// walkFolders lists dir and every folder under it, following symlinks but not
// around a cycle; hidden names and scratch files are left out. Folders
// are listed on every core (a listing is a few syscalls, and a tree of
// 100,000 tasks has 200,000 folders) and returned in path order.
func walkFolders(dir string) []folder {
	var (
		mu   sync.Mutex
		out  []folder
		wg   sync.WaitGroup
		idle = make(chan struct{}, runtime.GOMAXPROCS(0)-1) // cores free for another lister
	)
	var rec func(p string, seen []ftree.ID)
	rec = func(p string, seen []ftree.ID) {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			return // gone already, or not a folder: its change is reported on its own
		}
		k, _ := ftree.IDOf(st)
		if slices.Contains(seen, k) {
			return
		}
		entries, err := listDir(p)
		if err != nil {
			return
		}
		mu.Lock()
		out = append(out, folder{path: p, state: stateOf(st), entries: entries})
		mu.Unlock()
		seen = append(slices.Clip(seen), k) // each branch its own copy
		for _, e := range entries {
			if !e.dir {
				continue
			}
			sub := filepath.Join(p, e.name)
			select {
			case idle <- struct{}{}:
				wg.Go(func() {
					defer func() { <-idle }()
					rec(sub, seen)
				})
			default:
				rec(sub, seen)
			}
		}
	}
	rec(dir, nil)
	wg.Wait()
	slices.SortFunc(out, func(a, b folder) int { return strings.Compare(a.path, b.path) })
	return out
}

// start tracks the whole tree: the newest folders are watched, as many as
// the budget allows, and the others polled.
func (t *tree) start() error {
	dirs := walkFolders(t.w.root)
	if len(dirs) == 0 || dirs[0].path != t.w.root {
		// Removed as the setup began (walk returns the root first): it is
		// waited for, and read whole when it is back.
		return errRootGone
	}
	t.total = len(dirs)
	if t.fw != nil && len(dirs) > t.budget {
		if t.strict {
			return t.limitError(len(dirs), fmt.Errorf("%d folders, %d watches allowed", len(dirs), t.budget))
		}
		// Newest first: the folders being worked on get events; the old
		// ones are polled.
		slices.SortStableFunc(dirs, func(a, b folder) int { return cmp.Compare(b.state.mtime, a.state.mtime) })
	}
	now := time.Now()
	for _, d := range dirs {
		if err := t.track(d, false, now); err != nil {
			return err
		}
	}
	if t.from != 0 {
		// Every folder is followed now: what changed before can be
		// looked for, on every core.
		found := make([][]string, len(dirs))
		parallel(len(dirs), func(i int) { found[i] = t.changedSince(dirs[i]) })
		for _, paths := range found {
			for _, p := range paths {
				t.found(p)
			}
		}
	}
	t.w.setCounts(len(t.watched), t.poll.len())
	return nil
}

// changedSince lists the files of a folder that changed at or after
// from, now that the folder is followed: a load that ran alongside the
// setup may have read them before the change, and their event, if any,
// came before the watch. Files are judged by their change time (ctime,
// which no tool sets back, and which a rename moves too); a task that
// appeared meanwhile is found by its files. Folders are not reported:
// one would have its whole subtree read again. A removal in that window
// is left to the periodic rescan. Polled folders have their files'
// states already.
func (t *tree) changedSince(d folder) []string {
	var out []string
	if pd, ok := t.poll.dirs[d.path]; ok {
		for _, e := range pd.entries {
			if !e.dir && e.state.ctime >= t.from {
				out = append(out, filepath.Join(d.path, e.name))
			}
		}
		return out
	}
	for _, e := range d.entries {
		if e.dir {
			continue
		}
		p := filepath.Join(d.path, e.name)
		if st, err := os.Stat(p); err == nil && ftree.ChangeTime(st) >= t.from {
			out = append(out, p)
		}
	}
	return out
}

// track starts following one folder: watched while the budget allows,
// polled otherwise.
func (t *tree) track(d folder, isNew bool, now time.Time) error {
	if t.fw == nil || t.watched[d.path] {
		if !t.watched[d.path] {
			t.poll.add(d.path, d.state, d.entries, isNew, now)
		}
		return nil
	}
	err := errBudget
	if len(t.watched) < t.budget {
		err = t.fw.Add(d.path)
	}
	switch {
	case err == nil:
		t.watched[d.path] = true
		t.poll.forget(d.path, nil) // it may have been polled until now
		return t.since(d)
	case isLimit(err):
		if t.strict {
			return t.limitError(len(t.watched)+t.poll.len()+1, err)
		}
		t.budget = len(t.watched) // the kernel's word is final
		t.poll.add(d.path, d.state, d.entries, isNew, now)
		return nil
	case d.path == t.w.root:
		// The root removed between its listing and its watch: nothing
		// would report it.
		return errRootGone
	default:
		// Not there any more, or not readable: its parent reports it.
		return nil
	}
}

// since catches what changed in a folder between its listing and its
// watch: a name added then has no event.
func (t *tree) since(d folder) error {
	st, err := os.Stat(d.path)
	if err != nil || stateOf(st) == d.state {
		return nil
	}
	list, err := listDir(d.path)
	if err != nil {
		return nil
	}
	for _, e := range list {
		t.found(filepath.Join(d.path, e.name))
		if e.dir {
			t.pending = append(t.pending, filepath.Join(d.path, e.name))
		}
	}
	return nil
}

// addTree tracks a folder that appeared, and everything under it, and
// reports its files as changed: they were written before anything
// watched them.
func (t *tree) addTree(dir string, now time.Time) error {
	t.pending = append(t.pending, dir)
	return t.drain(now)
}

// drain tracks the folders that appeared, found by an event or a check.
func (t *tree) drain(now time.Time) error {
	for len(t.pending) > 0 {
		p := t.pending[len(t.pending)-1]
		t.pending = t.pending[:len(t.pending)-1]
		dirs := walkFolders(p)
		if len(dirs) == 0 {
			t.poll.unlist(p) // gone again already
		}
		for _, d := range dirs {
			if t.watched[d.path] {
				continue
			}
			if _, ok := t.poll.dirs[d.path]; ok {
				continue
			}
			for _, e := range d.entries {
				if !e.dir {
					t.found(filepath.Join(d.path, e.name))
				}
			}
			if err := t.track(d, true, now); err != nil {
				return err
			}
		}
	}
	t.logLimit()
	t.w.setCounts(len(t.watched), t.poll.len())
	return t.failed
}

// forget stops following a folder that is gone, and all below it.
func (t *tree) forget(p string) {
	t.poll.forget(p, t)
	if t.watched[p] {
		prefix := p + string(filepath.Separator)
		for w := range t.watched {
			if w == p || len(w) > len(prefix) && w[:len(prefix)] == prefix {
				_ = t.fw.Remove(w) // the kernel may have dropped it already
				delete(t.watched, w)
			}
		}
	}
	t.w.setCounts(len(t.watched), t.poll.len())
}

// logLimit says, once, that inotify could not cover the tree, how much
// is polled, and what setting would cover it all.
func (t *tree) logLimit() {
	if t.warned || t.fw == nil || t.poll.len() == 0 {
		return
	}
	t.warned = true
	want := t.limit + t.poll.len()
	t.w.log.Warn("inotify limit reached: polling the folders past it",
		"root", t.w.root, "watched", len(t.watched), "polled", t.poll.len(), "poll_interval", t.w.cfg.PollInterval,
		"hint", fmt.Sprintf("to watch them all, raise %s from %d to %d: sysctl -w %s=%d", sysctlWatches, t.limit, want, sysctlWatches, want))
}

// roundDone reports a poll round that has ended since the last call, and
// says, once, when rounds are slow (from the second): a save in a folder that has not
// changed lately waits up to a round, and the share of the machine that
// polling may take is what sets it.
func (t *tree) roundDone() {
	p := t.poll
	if p.rounds == t.rounds {
		return
	}
	t.rounds = p.rounds
	t.w.setRound(p.round)
	iv, share := t.w.cfg.PollInterval, t.w.cfg.PollCPU
	// The first round runs while the setup's garbage is handed back,
	// and is slower than those after it: the advice is from the second.
	if t.slow || p.rounds < 2 || p.round <= 2*iv {
		return
	}
	t.slow = true
	// Polling is bound by its stats, so a round takes time in inverse
	// proportion to its share.
	hint := fmt.Sprintf("even watch.poll_cpu: 1 would take about %s a round: use watch.mode auto where change events arrive, or a source per part of the tree",
		time.Duration(float64(p.round)*share).Round(100*time.Millisecond))
	if want := math.Ceil(100*share*float64(p.round)/float64(2*iv)) / 100; want <= 1 {
		hint = fmt.Sprintf("watch.poll_cpu: %g would make a round about %s", want, 2*iv)
	}
	t.w.log.Warn("poll rounds are slow: a save in a folder unchanged for 10 minutes shows within a round",
		"root", t.w.root, "polled", p.len(), "round", p.round.Round(100*time.Millisecond), "poll_interval", iv, "poll_cpu", share, "hint", hint)
}

func (t *tree) limitError(folders int, err error) error {
	e := &LimitError{Root: t.w.root, Sysctl: sysctlWatches, Now: t.limit, Err: err}
	if t.limit > 0 {
		// What others of this user hold, plus every folder of ours.
		e.Want = max(t.limit-len(t.watched), 0) + max(folders, t.total) + max(t.limit/10, 1024)
	}
	return e
}

// The tree receives what polling finds.

func (t *tree) changed(p string)  { t.found(p) }
func (t *tree) appeared(p string) { t.pending = append(t.pending, p) }
func (t *tree) gone(p string) {
	t.forget(p)
	if p == t.w.root {
		t.failed = errRootGone
	}
}

var _ changes = (*tree)(nil)
