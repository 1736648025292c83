package registry

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Registry holds the current snapshot and builds the next one from it.
// Readers call Snapshot and never lock; writers are serialised by Apply.
type Registry struct {
	cur     atomic.Pointer[Snapshot]
	now     func() time.Time
	feed    *Feed
	swapped chan struct{} // poked after each load that swapped; holds one poke

	mu      sync.Mutex // serialises Apply and guards everything below
	sources []SourceStatus
	loaded  []bool
	counts  []int                   // tasks served per source
	srcErrs [][]*LoadError          // errors of whole sources
	roots   []map[string]*rootState // per source, by root key
	cands   map[string][]*Task      // identity to every copy, in conflict order
	byID    map[string]map[string]struct{}
	touched touched // what the loads since the runner last asked changed
}

type rootState struct {
	task *Task
	errs []*LoadError
}

// New makes an empty registry. now is the clock used for load times; feed
// receives the events of every swap (nil for none).
func New(now func() time.Time, feed *Feed) *Registry {
	r := &Registry{now: now, feed: feed, cands: map[string][]*Task{}, byID: map[string]map[string]struct{}{},
		swapped: make(chan struct{}, 1)}
	s := emptySnapshot()
	s.ready = true
	r.cur.Store(s)
	return r
}

// Snapshot is the catalogue as it is now. Take it once per request.
func (r *Registry) Snapshot() *Snapshot { return r.cur.Load() }

// AddSource registers a source in configuration order and returns its
// position, which Updates name it by.
func (r *Registry) AddSource(s Source) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := SourceStatus{Name: s.Name(), Type: s.Type(), Location: s.Location(), Status: StatusLoading}
	st.live, _ = s.(Live)
	r.sources = append(r.sources, st)
	r.loaded = append(r.loaded, false)
	r.counts = append(r.counts, 0)
	r.srcErrs = append(r.srcErrs, nil)
	r.roots = append(r.roots, map[string]*rootState{})
	r.republish(func(next *Snapshot) {
		next.sources = slices.Clone(r.sources)
		next.ready = false
	})
	return len(r.sources) - 1
}

// republish swaps in a copy of the current snapshot that edit changed, as
// a generation of its own: the answer and index caches key on the
// generation, so a snapshot that shows something else under the same
// number would be answered from what was cached before it. Call it with
// r.mu held.
func (r *Registry) republish(edit func(next *Snapshot)) {
	next := *r.cur.Load()
	next.Generation++
	edit(&next)
	r.swap(&next, nil)
}

// change collects what one Apply did, to decide whether to swap and what
// to tell subscribers.
type change struct {
	ids     map[string]bool // identities touched
	uuids   map[string]bool
	errKeys map[string][2][]*LoadError // before and after, by errKey
	// errTasks names the task that the errors of a key belong to, where
	// the root serves one, so that error events carry its id and version.
	errTasks map[string]*Task
}

// Apply folds one update into the next snapshot and swaps it in. A result
// that serves exactly what is served now changes nothing: no swap, no
// event. It returns the snapshot in force afterwards and whether it is new.
func (r *Registry) Apply(u Update) (*Snapshot, bool) {
	s, changed, _ := r.apply(u)
	return s, changed
}

// apply is Apply, with the events it sent.
func (r *Registry) apply(u Update) (*Snapshot, bool, []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.cur.Load()
	ch := change{ids: map[string]bool{}, uuids: map[string]bool{}, errKeys: map[string][2][]*LoadError{}, errTasks: map[string]*Task{}}
	r.applyRoots(u, &ch)
	statusChanged := r.updateStatus(u)
	r.sourceError(u, &ch)

	next := r.successor(prev)
	next.applyErrors(&ch)
	r.applyConflicts(next, &ch)
	r.applyEntries(next, &ch)
	r.dropVerdicts(next, &ch)
	events := diffEvents(prev, next, &ch)
	if len(events) == 0 && !statusChanged && next.ready == prev.ready {
		return prev, false, nil
	}
	if statusChanged || len(events) > 0 {
		next.sources = r.countSources()
	}
	r.swap(next, events)
	if next.testing {
		r.touched.add(ch.ids)
	}
	r.poke()
	return next, true, events
}

// swap makes next current and publishes its events as one step, under the
// feed's lock: a reader who sees next and subscribes since its generation
// finds it published (not told to resync), and a subscriber woken by its
// events finds next current.
func (r *Registry) swap(next *Snapshot, events []Event) {
	if r.feed == nil {
		r.cur.Store(next)
		return
	}
	r.feed.publish(next.Generation, next, events, func() { r.cur.Store(next) })
}

// applyRoots replaces what the update's roots serve. A complete update
// lists everything the source holds: the rest is gone.
func (r *Registry) applyRoots(u Update, ch *change) {
	roots := r.roots[u.Source]
	removed := u.Removed
	if u.Complete {
		seen := make(map[string]bool, len(u.Results))
		for _, res := range u.Results {
			seen[res.Root] = true
		}
		for k := range roots {
			if !seen[k] {
				removed = append(removed, k)
			}
		}
	}
	for _, res := range u.Results {
		r.applyRoot(u.Source, res, ch)
	}
	for _, k := range removed {
		r.applyRoot(u.Source, RootResult{Root: k}, ch)
		delete(roots, k)
	}
}

// successor starts the next snapshot from prev: it shares all of prev's
// persistent maps, which the apply steps then change where they must.
func (r *Registry) successor(prev *Snapshot) *Snapshot {
	return &Snapshot{
		Generation:    prev.Generation + 1,
		LoadedAt:      r.now(),
		tasks:         prev.tasks,
		errs:          prev.errs,
		conflicts:     prev.conflicts,
		byLabel:       prev.byLabel,
		byUpdated:     prev.byUpdated,
		verdicts:      prev.verdicts,
		testing:       prev.testing,
		versions:      prev.versions,
		errCount:      prev.errCount,
		conflictCount: prev.conflictCount,
		sources:       prev.sources,
		ready:         !slices.Contains(r.loaded, false),
		sum:           prev.sum,
		vsum:          prev.vsum,
		log:           prev.log,
	}
}

// applyErrors sets the load errors of the roots that changed.
func (s *Snapshot) applyErrors(ch *change) {
	for k, be := range ch.errKeys {
		for _, errs := range be {
			if len(errs) > 0 {
				s.sum.toggle(errorsSum(k, errs))
			}
		}
		s.errCount += len(be[1]) - len(be[0])
		if len(be[1]) == 0 {
			s.errs = s.errs.Delete(k)
		} else {
			s.errs = s.errs.Set(k, be[1])
		}
	}
}

// applyConflicts redecides the conflicts of the identities that changed.
func (r *Registry) applyConflicts(next *Snapshot, ch *change) {
	for id := range ch.ids {
		if old, ok := next.conflicts.Get(id); ok {
			next.conflictCount -= len(old)
			next.sum.toggle(conflictsSum(id, old))
		}
		cs := r.cands[id]
		if len(cs) > 1 {
			next.conflictCount += len(cs) - 1
			now := conflictsOf(cs)
			next.sum.toggle(conflictsSum(id, now))
			next.conflicts = next.conflicts.Set(id, now)
		} else {
			next.conflicts = next.conflicts.Delete(id)
		}
	}
}

// applyEntries rebuilds the version lists of the tasks that changed.
func (r *Registry) applyEntries(next *Snapshot, ch *change) {
	next.log = next.log.with(next.Generation, slices.Collect(maps.Keys(ch.uuids)))
	for id := range ch.uuids {
		old, _ := next.tasks.Get(id)
		e := r.entry(id)
		next.reindex(old, e)
		if old != nil {
			next.versions -= len(old.Versions)
			next.sum.toggle(entrySum(old))
		}
		if e == nil {
			next.tasks = next.tasks.Delete(id)
		} else {
			next.tasks = next.tasks.Set(id, e)
			next.versions += len(e.Versions)
			next.sum.toggle(entrySum(e))
		}
	}
}

// dropVerdicts forgets the verdicts of task versions no longer served.
func (r *Registry) dropVerdicts(next *Snapshot, ch *change) {
	for id := range ch.ids {
		if _, served := r.cands[id]; !served {
			if v, ok := next.verdicts.Get(id); ok {
				next.vsum.toggle(verdictSum(id, v))
				next.verdicts = next.verdicts.Delete(id)
			}
		}
	}
}

// applyRoot replaces what one root serves. A root that loaded before and
// is broken now keeps serving its last good task, marked stale.
func (r *Registry) applyRoot(src int, res RootResult, ch *change) {
	roots := r.roots[src]
	old := roots[res.Root]
	gone := res.Task == nil && len(res.Errors) == 0
	if res.Task == nil && len(res.Errors) > 0 && old != nil && old.task != nil {
		res.Task = old.task.withError(res.Errors[0])
	}
	var oldTask *Task
	var oldErrs []*LoadError
	if old != nil {
		oldTask, oldErrs = old.task, old.errs
	}
	if oldTask.sameAs(res.Task) && sameErrors(oldErrs, res.Errors) {
		return
	}
	switch {
	case oldTask != nil && res.Task != nil && oldTask.identity() == res.Task.identity():
		// An edit, or the same copy gone stale: it keeps its place among
		// the copies of its version.
		r.replaceCandidate(oldTask, res.Task)
		ch.ids[res.Task.identity()], ch.uuids[res.Task.ID] = true, true
	default:
		if oldTask != nil {
			r.counts[src]--
			r.dropCandidate(oldTask)
			ch.ids[oldTask.identity()], ch.uuids[oldTask.ID] = true, true
		}
		if res.Task != nil {
			r.counts[src]++
			// A source's first load places its copies in the fixed order;
			// a later one never displaces the copy already served.
			r.addCandidate(res.Task, r.loaded[src])
			ch.ids[res.Task.identity()], ch.uuids[res.Task.ID] = true, true
		}
	}
	if !sameErrors(oldErrs, res.Errors) {
		k := errKey(src, res.Root)
		be, ok := ch.errKeys[k]
		if !ok {
			be[0] = oldErrs
		}
		be[1] = res.Errors
		ch.errKeys[k] = be
		if t := cmp.Or(res.Task, oldTask); t != nil {
			ch.errTasks[k] = t
		}
	}
	if gone {
		delete(roots, res.Root)
		return
	}
	roots[res.Root] = &rootState{task: res.Task, errs: res.Errors}
}

func sameErrors(a, b []*LoadError) bool {
	return slices.EqualFunc(a, b, func(x, y *LoadError) bool { return x.same(y) })
}

// conflictOrder is the fixed order that decides which copy is served on a
// cold start: sources in configuration order; within one source a folder
// before an archive of the same version (the folder is what the author
// edits; an archive beside it is most often a stale export of it); then
// task roots in lexical order.
func conflictOrder(a, b *Task) int {
	return cmp.Or(cmp.Compare(a.order, b.order), cmpBool(a.archive(), b.archive()), cmp.Compare(a.Root, b.Root))
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// addCandidate places a copy among the copies of its version: the first
// is served, the rest follow in the fixed order. On a reload (keep), the
// copy served keeps its place, unless the new one is a folder of the same
// source beside a served archive: a copy made without a new uuid never
// replaces the original, live, because its path sorts first.
func (r *Registry) addCandidate(t *Task, keep bool) {
	id := t.identity()
	cs := r.cands[id]
	if len(cs) > 0 && conflictOrder(t, cs[0]) < 0 && (!keep || !r.served(cs[0]) || outranks(t, cs[0])) {
		cs = insertOrdered(cs[1:], cs[0]) // the copy served may sit out of order
		cs = slices.Insert(cs, 0, t)
	} else if len(cs) > 0 {
		cs = append(cs[:1], insertOrdered(cs[1:], t)...)
	} else {
		cs = []*Task{t}
	}
	r.cands[id] = cs
	vs := r.byID[t.ID]
	if vs == nil {
		vs = map[string]struct{}{}
		r.byID[t.ID] = vs
	}
	vs[t.Version] = struct{}{}
}

// insertOrdered adds t to copies kept in the fixed order.
func insertOrdered(cs []*Task, t *Task) []*Task {
	i, _ := slices.BinarySearchFunc(cs, t, conflictOrder)
	return slices.Insert(slices.Clip(cs), i, t)
}

// outranks is true for a folder against an archive of the same source.
func outranks(t, served *Task) bool {
	return t.order == served.order && !t.archive() && served.archive()
}

// served reports whether the current snapshot serves this copy: a copy
// that arrived in the same update as t is not yet served, and the fixed
// order decides between them.
func (r *Registry) served(c *Task) bool {
	t, ok := r.cur.Load().Task(c.ID, c.Version)
	return ok && t.order == c.order && t.Root == c.Root
}

// replaceCandidate puts a new copy of the same root where the old one was.
func (r *Registry) replaceCandidate(old, t *Task) {
	cs := r.cands[t.identity()]
	if i := slices.Index(cs, old); i >= 0 {
		cs[i] = t
	}
}

func (r *Registry) dropCandidate(t *Task) {
	id := t.identity()
	cs := slices.DeleteFunc(r.cands[id], func(c *Task) bool { return c == t })
	if len(cs) > 0 {
		r.cands[id] = cs
		return
	}
	delete(r.cands, id)
	delete(r.byID[t.ID], t.Version)
	if len(r.byID[t.ID]) == 0 {
		delete(r.byID, t.ID)
	}
}

// entry rebuilds one task's version list from the winners of each version.
func (r *Registry) entry(id string) *Entry {
	vs := r.byID[id]
	if len(vs) == 0 {
		return nil
	}
	e := &Entry{ID: id, Versions: make([]*Task, 0, len(vs))}
	for v := range vs {
		e.Versions = append(e.Versions, r.cands[id+"@"+v][0])
	}
	slices.SortFunc(e.Versions, compareVersions)
	e.Latest = pickLatest(e.Versions)
	return e
}

func conflictsOf(cs []*Task) []Conflict {
	out := make([]Conflict, 0, len(cs)-1)
	for _, c := range cs[1:] {
		out = append(out, Conflict{ID: c.ID, Version: c.Version, Source: c.Source, Path: c.Path, Winner: cs[0].Path})
	}
	return out
}

// sourceError keeps a source that fails as a whole (its folder is
// missing, its index cannot be fetched) in the load errors, under the
// empty root, so that it is listed, counted and sent like any other.
func (r *Registry) sourceError(u Update, ch *change) {
	var now []*LoadError
	if u.Err != nil {
		st := r.sources[u.Source]
		// A source that follows files on this machine failed to read
		// them; any other fetches what it serves.
		kind := KindFetch
		if st.live != nil {
			kind = KindIO
		}
		now = []*LoadError{{Source: st.Name, Path: st.Location, Kind: kind, Err: u.Err}}
	}
	before := r.srcErrs[u.Source]
	if sameErrors(before, now) {
		return
	}
	r.srcErrs[u.Source] = now
	ch.errKeys[errKey(u.Source, "")] = [2][]*LoadError{before, now}
}

// updateStatus records a source's health; a failing source that still
// serves tasks from before is degraded, not down.
func (r *Registry) updateStatus(u Update) bool {
	st := r.sources[u.Source]
	before := st
	switch {
	case u.Err != nil && len(r.roots[u.Source]) > 0:
		st.Status, st.Error = StatusDegraded, u.Err.Error()
	case u.Err != nil:
		st.Status, st.Error = StatusError, u.Err.Error()
	default:
		st.Status, st.Error = StatusOK, ""
		st.LoadedAt = r.now()
	}
	if u.Revision != "" {
		st.Revision = u.Revision
	}
	r.loaded[u.Source] = true
	r.sources[u.Source] = st
	before.LoadedAt, st.LoadedAt = time.Time{}, time.Time{}
	return before != st
}

// countSources copies the statuses with the task counts kept by applyRoot.
func (r *Registry) countSources() []SourceStatus {
	out := slices.Clone(r.sources)
	for i := range out {
		out[i].TaskCount = r.counts[i]
	}
	return out
}
