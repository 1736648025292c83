package watcher

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// fileState is what polling compares: any difference is a change. It is
// taken with stat alone; polling never reads a file.
type fileState struct {
	size  int64
	mtime int64 // unix nanoseconds
	ctime int64
	mode  fs.FileMode
	key   ftree.ID
}

func stateOf(st fs.FileInfo) fileState {
	key, _ := ftree.IDOf(st)
	return fileState{size: st.Size(), mtime: st.ModTime().UnixNano(), ctime: ftree.ChangeTime(st), mode: st.Mode(), key: key}
}

// entry is one name in a polled folder. Folders are listed by name only:
// each has a record of its own.
type entry struct {
	name  string
	dir   bool
	state fileState // files only
}

// polledDir is what polling knows of one folder: its own state, whose
// mtime moves when a name in it is added, removed or renamed, and the
// state of each file in it, whose mtime moves when it is written in
// place.
type polledDir struct {
	state   fileState
	entries []entry // sorted by name
}

// poller checks folders by stat. Each tick it checks the folders that
// changed lately, then as many of the others as its time budget (a share
// of the tick, Config.PollCPU) allows, newest first, going round: the
// walk is spread over ticks, so a tree too large for one tick costs a
// bounded share of the machine rather than all of it.
type poller struct {
	dirs   map[string]*polledDir
	hot    map[string]time.Time // folders that changed lately, and when
	order  []string             // the round of the others; may hold forgotten paths
	listed map[string]bool      // the paths in order, each there once
	cursor int
	// budget is the time a tick may spend on the round; hotFor is how
	// long a folder that changed is checked at every tick, and maxHot how
	// many folders may be (a checkout that touches everything must not
	// make every tick a full walk).
	budget, hotFor time.Duration
	maxHot         int
	// batch is how many folders a step stats at once, on every core.
	batch int
	// afterProbe, for tests, runs between a step's probes and their
	// comparison: the moment a change can fall between the two.
	afterProbe func()

	// The round: when the one under way began (zero before the first
	// tick), how long the last whole one took, and how many were done.
	roundStart time.Time
	round      time.Duration
	rounds     int

	// The tick under way: its time, what is left of its budget and of
	// its round, and the hot folders it has checked already.
	now     time.Time
	left    time.Duration
	todo    int
	checked map[string]bool
}

// newPoller polls every interval for at most share of it (Config.PollCPU).
func newPoller(interval time.Duration, share float64) *poller {
	return &poller{dirs: map[string]*polledDir{}, hot: map[string]time.Time{}, checked: map[string]bool{}, listed: map[string]bool{},
		budget: time.Duration(float64(interval) * share), hotFor: 10 * time.Minute, maxHot: 1024,
		batch: batchPerCore * runtime.GOMAXPROCS(0)}
}

// heat marks a folder as changed at a time: it is checked at every tick
// for hotFor after. Past maxHot, the folder that changed longest ago
// goes back to the round.
func (p *poller) heat(path string, at time.Time) {
	p.hot[path] = at
	if len(p.hot) <= p.maxHot {
		return
	}
	var oldest string
	for q, t := range p.hot {
		if oldest == "" || t.Before(p.hot[oldest]) {
			oldest = q
		}
	}
	delete(p.hot, oldest)
}

func (p *poller) len() int { return len(p.dirs) }

// add starts polling a folder from the listing given, stating its files
// for the baseline that later checks compare with. A folder that is new,
// or was changed within hotFor, is hot: newest first.
func (p *poller) add(path string, st fileState, names []entry, isNew bool, now time.Time) {
	d := &polledDir{state: st, entries: names}
	newest := st.mtime
	for i := range d.entries {
		if d.entries[i].dir {
			continue
		}
		if fst, err := os.Stat(filepath.Join(path, d.entries[i].name)); err == nil {
			d.entries[i].state = stateOf(fst)
			newest = max(newest, d.entries[i].state.mtime)
		}
	}
	if !p.listed[path] {
		// A folder forgotten then polled again keeps its place: in the
		// round twice, it would grow it at every return, and its two
		// checks in one batch would compare one probe with two listings.
		p.listed[path] = true
		p.order = append(p.order, path)
	}
	p.dirs[path] = d
	switch changed := time.Unix(0, newest); {
	case isNew:
		p.heat(path, now)
	case now.Sub(changed) < p.hotFor:
		// A time in the future (an archive's, a clock ahead) would keep
		// the folder hot until long after it.
		if changed.After(now) {
			changed = now
		}
		p.heat(path, changed)
	}
}

// forget stops polling path and every folder under it, and reports the
// files they held (when c is not nil): a loader keyed by file learns
// that they are gone.
func (p *poller) forget(path string, c changes) {
	prefix := path + string(filepath.Separator)
	for q, d := range p.dirs {
		if q == path || strings.HasPrefix(q, prefix) {
			for _, e := range d.entries {
				if c != nil {
					c.changed(filepath.Join(q, e.name))
				}
			}
			delete(p.dirs, q)
			delete(p.hot, q)
		}
	}
	if len(p.dirs) == 0 {
		// Polling stops until a folder is polled again: the round then
		// starts afresh, and is not measured across the pause. A tick
		// under way has nothing left to do.
		p.order, p.cursor, p.todo, p.roundStart = nil, 0, 0, time.Time{}
		clear(p.listed)
	}
}

// compact drops forgotten folders from the round once they are most of
// it, keeping the cursor on the same folder. It runs between ticks: a
// tick's count of folders to go is of the round as it began.
func (p *poller) compact() {
	if len(p.order) <= 2*len(p.dirs)+64 {
		return
	}
	kept := func(q string) bool { _, ok := p.dirs[q]; return ok }
	before := 0
	for _, q := range p.order[:min(p.cursor, len(p.order))] {
		if kept(q) {
			before++
		}
	}
	p.order = slices.DeleteFunc(p.order, func(q string) bool {
		if !kept(q) {
			delete(p.listed, q)
			return true
		}
		return false
	})
	p.cursor = before
}

// unlist drops a folder that appeared, but was gone before it could be
// followed, from its parent's listing, and has the parent listed again at
// its next check: were it kept, its return would look like no change, and
// nothing would follow it.
func (p *poller) unlist(path string) {
	d, ok := p.dirs[filepath.Dir(path)]
	if !ok {
		return // its parent is watched: its return is an event
	}
	name := filepath.Base(path)
	d.entries = slices.DeleteFunc(d.entries, func(e entry) bool { return e.name == name })
	d.state = fileState{}
}

// changes receives what a check finds: paths that changed, and folders
// that appeared, for the tree to track.
type changes interface {
	changed(path string)
	appeared(dir string)
	gone(dir string)
}

// tick checks the hot folders, then the round from where it stopped,
// until the budget is spent or every folder has been checked once.
func (p *poller) tick(now time.Time, c changes) {
	p.startTick(now, c)
	for p.step(p.budget, c) {
	}
}

// startTick checks the hot folders and opens the round of this tick.
func (p *poller) startTick(now time.Time, c changes) {
	p.compact()
	p.now, p.left, p.todo = now, p.budget, len(p.order)
	if p.roundStart.IsZero() {
		p.roundStart = now
	}
	clear(p.checked)
	for path, at := range p.hot {
		d, ok := p.dirs[path]
		if !ok || now.Sub(at) >= p.hotFor {
			delete(p.hot, path)
			continue
		}
		p.checked[path] = true
		p.check(path, d, now, c)
	}
}

// step goes on with the round for about d, and at least one folder; false
// once this tick's round is done. Steps are short so that the loop that
// runs them sends what it found, and takes events, between them.
//
// The stats of a step are taken on every core: a stat is a syscall of a
// few microseconds, and a tree of 100,000 tasks is 700,000 of them a
// round, which one core at a quarter of its time takes ten seconds over.
// The budget is wall time, so the share of the machine stays what
// Config.PollCPU says; more cores shorten the round as far as the kernel
// runs stats side by side.
func (p *poller) step(d time.Duration, c changes) bool {
	start := time.Now()
	for first := true; p.todo > 0; first = false {
		if !first && time.Since(start) >= min(d, p.left) {
			break
		}
		batch := p.nextBatch()
		probes := make([]probe, len(batch))
		parallel(len(batch), func(i int) { probes[i] = p.probe(batch[i]) })
		if p.afterProbe != nil {
			p.afterProbe()
		}
		for i, path := range batch {
			// A folder that an earlier apply of this batch found gone
			// (its parent relisted) is forgotten already.
			if d, ok := p.dirs[path]; ok {
				p.apply(path, d, probes[i], p.now, c)
			}
		}
	}
	p.left -= time.Since(start)
	return p.todo > 0 && p.left > 0
}

// batchPerCore is how many folders each core stats in one go: about a
// millisecond of stats, short next to a step.
const batchPerCore = 64

// nextBatch takes the next folders of the round to check.
func (p *poller) nextBatch() []string {
	var batch []string
	for p.todo > 0 && len(batch) < p.batch && len(p.order) > 0 {
		if p.cursor >= len(p.order) {
			// Every folder has been checked since the round began.
			p.cursor = 0
			if !p.roundStart.IsZero() {
				p.round = max(p.now.Sub(p.roundStart), 0)
				p.rounds++
			}
			p.roundStart = p.now
		}
		path := p.order[p.cursor]
		p.cursor++
		p.todo--
		if _, ok := p.dirs[path]; ok && !p.checked[path] {
			batch = append(batch, path)
		}
	}
	return batch
}

// parallel runs f(0) to f(n-1) on every core and returns when all are done.
func parallel(n int, f func(int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+batchPerCore-1)/batchPerCore)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}

// probe is what one check of a folder finds on disk: its own state, and
// each file's, in the order of its entries. It is taken without changing
// anything, so that folders are probed in parallel; apply compares.
type probe struct {
	gone    bool        // the folder cannot be stated, or is no folder now
	state   fileState   // the folder's
	entries []entry     // the listing the probe followed
	files   []fileState // per entry of it; zero for folders and files gone
}

func (p *poller) probe(path string) probe {
	d := p.dirs[path]
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return probe{gone: true}
	}
	pr := probe{state: stateOf(st), entries: d.entries, files: make([]fileState, len(d.entries))}
	for i, e := range d.entries {
		if e.dir {
			continue
		}
		if fst, err := os.Stat(filepath.Join(path, e.name)); err == nil {
			pr.files[i] = stateOf(fst)
		}
	}
	return pr
}

// check compares one folder with what it was: its listing when its own
// state moved, and each file's state.
func (p *poller) check(path string, d *polledDir, now time.Time, c changes) {
	p.apply(path, d, p.probe(path), now, c)
}

// apply compares a probe of a folder with what polling knew of it, and
// reports the difference.
func (p *poller) apply(path string, d *polledDir, pr probe, now time.Time, c changes) {
	if pr.gone {
		c.changed(path)
		c.gone(path)
		return
	}
	// The entries the probe followed, which a relist since (this one, or
	// an earlier apply of the same batch) may have replaced.
	probed := pr.entries
	changed := false
	if pr.state != d.state {
		d.state = pr.state
		changed = p.relist(path, d, c)
	}
	for i, was := range probed {
		cur := pr.files[i]
		if was.dir || cur == (fileState{}) || cur == was.state || cur.mode.IsDir() {
			// A folder has a record of its own; a file gone shows in the
			// folder's own state; one replaced by a folder is the same.
			continue
		}
		j, ok := slices.BinarySearchFunc(d.entries, was.name, func(e entry, n string) int { return strings.Compare(e.name, n) })
		if !ok || d.entries[j].dir || d.entries[j].state == cur {
			continue // gone or relisted since: the relist reported it
		}
		d.entries[j].state = cur
		c.changed(filepath.Join(path, was.name))
		changed = true
	}
	if changed {
		p.heat(path, now)
	}
}

// relist reads a folder whose names changed and reports the difference.
func (p *poller) relist(path string, d *polledDir, c changes) bool {
	list, err := listDir(path)
	if err != nil {
		c.changed(path)
		return true
	}
	old := map[string]entry{}
	for _, e := range d.entries {
		old[e.name] = e
	}
	changed := false
	for i, e := range list {
		was, ok := old[e.name]
		delete(old, e.name)
		full := filepath.Join(path, e.name)
		switch {
		case ok && was.dir == e.dir:
			list[i].state = was.state
			continue
		case ok && was.dir:
			c.gone(full)
		}
		changed = true
		c.changed(full)
		if e.dir {
			c.appeared(full)
		} else if fst, err := os.Stat(full); err == nil {
			list[i].state = stateOf(fst)
		}
	}
	for name, e := range old {
		full := filepath.Join(path, name)
		changed = true
		c.changed(full)
		if e.dir {
			c.gone(full)
		}
	}
	d.entries = list
	return changed
}

// listDir lists the names in a folder that a loader would read: hidden
// names and editor scratch files are left out; symlinks are resolved to
// say whether they lead to a folder.
func listDir(path string) ([]entry, error) {
	des, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if ftree.Hidden(name) || scratch(name) {
			continue
		}
		dir := de.IsDir()
		if de.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(path, name)); err == nil {
				dir = st.IsDir()
			}
		}
		out = append(out, entry{name: name, dir: dir})
	}
	return out, nil
}
