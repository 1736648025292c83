package schema

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/benbjohnson/immutable"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/lru"
)

// ListCache keeps what the answers that Render writes are made of, within
// one byte budget, least recently used out first: prepared requests and
// their plans, the tasks each filter matches (a view, brought up to date
// from the tasks a save changed), and each list's rendered items, in
// chunks, by the list and the selection that made them. A chunk is a run
// of entries, cut where an entry's id hashes to a boundary, so that
// adding or removing a task changes one chunk and leaves the cuts of the
// others where they were; a chunk is used again while it holds the very
// same entries (an entry is replaced whenever a version of its task
// changes).
type ListCache struct {
	lru   *lru.Cache[any]
	scans atomic.Int64 // views built by looking at every task, for tests
}

// NewListCache keeps up to maxBytes, each value's key and bookkeeping
// counted with it: a flood of distinct filters that match nothing, or of
// distinct queries, would otherwise be values of no weight, kept without
// end.
func NewListCache(maxBytes int64) *ListCache {
	return &ListCache{lru: lru.New[any](maxBytes, 0)}
}

// Bytes is what the cache holds, as its budget counts it.
func (c *ListCache) Bytes() int64 { return c.lru.Bytes() }

func (c *ListCache) get(key string) (any, bool) { return c.lru.Get(key) }

// keep replaces what is kept under key, and forgets what was used
// longest ago while over the budget; a value larger than the whole budget
// is not kept.
func (c *ListCache) keep(key string, value any, bytes int64) { c.lru.Put(key, value, bytes) }

// Prepare is Executor.Prepare, kept by the text of the request: a
// dashboard sends the same few queries at every poll, and parsing and
// validating one costs more than answering it from what is kept.
func (c *ListCache) Prepare(x *Executor, req Request) (*Prepared, *Failure) {
	key := "prepared\x00" + req.OperationName + "\x00" + req.Query
	if p, ok := c.get(key); ok {
		return p.(*Prepared), nil
	}
	p, f := x.Prepare(req)
	if f == nil {
		c.keep(key, p, preparedBytes(req.Query))
	}
	return p, f
}

// preparedBytes is about what a parsed and validated query holds: its
// syntax tree takes some ten times its text.
func preparedBytes(query string) int64 { return 16*int64(len(query)) + 1024 }

// taskList is the tasks a listQuery shows over one snapshot, in its order.
type taskList struct {
	key   string // names the list among those kept
	walk  walker
	count func() int
}

// list is what call lists over snap: the snapshot's own index when it
// has no filter, else the view of the filter, kept and brought up to
// date.
func (c *ListCache) list(ctx context.Context, snap *registry.Snapshot, call listCall) (taskList, error) {
	q := call.q
	l := taskList{key: call.key, walk: q.walker(snap), count: snap.TaskCount}
	if q.filter.empty() {
		return l, nil
	}
	v, err := c.view(ctx, snap, q, call.key)
	if err != nil {
		return taskList{}, err
	}
	l.walk, l.count = v.walker(q.desc), v.entries.Len
	return l, nil
}

// key names what q lists: its order, its filter, then its direction,
// last, so that both directions find one view (see view).
func (q listQuery) key() string {
	return fmt.Sprintf("%d\x00%s\x00%t", q.order, q.filter.key(), q.desc)
}

// key names the filter; a filter says the same whatever order its tags
// come in, but is kept apart for each, which costs only memory.
func (f taskFilter) key() string {
	deref := func(p any) string {
		switch p := p.(type) {
		case *string:
			if p != nil {
				return fmt.Sprintf("%q", *p)
			}
		case *bool:
			if p != nil {
				return fmt.Sprint(*p)
			}
		case *registry.VerdictStatus:
			if p != nil {
				return string(*p)
			}
		}
		return "-"
	}
	return fmt.Sprintf("%q\x00%q\x00%s\x00%s\x00%s\x00%t", f.search, f.tags, deref(f.source), deref(f.stale), deref(f.verdict), f.anyVersion)
}

// view is the tasks of one snapshot that a filter matches, by their keys
// in one order. It is never changed once built: the next is built beside
// it, sharing all that a save did not touch.
type view struct {
	snap    *registry.Snapshot
	entries *immutable.SortedMap[string, *registry.Entry]
	bytes   int64
}

// view is the filter and order of q over snap. Filtering a whole
// catalogue costs a look at every task (about 100 ms at 100,000 tasks), so
// the view of the last snapshot is kept and brought up to date from the
// tasks that changed since (registry.Snapshot.ChangedSince): after a save,
// the cost of the save. A filter on verdicts is looked at again whenever
// the snapshot changes, as verdicts change without a save.
func (c *ListCache) view(ctx context.Context, snap *registry.Snapshot, q listQuery, listKey string) (*view, error) {
	// Both directions share the view: the list's key without its
	// direction.
	key := "view\x00" + listKey[:strings.LastIndexByte(listKey, 0)]
	var v *view
	if old, ok := c.get(key); ok {
		old := old.(*view)
		if old.snap == snap {
			return old, nil
		}
		if q.filter.verdict == nil {
			if uuids, ok := snap.ChangedSince(old.snap); ok {
				v = old.update(snap, q, uuids)
			}
		}
	}
	if v == nil {
		c.scans.Add(1)
		var err error
		if v, err = buildView(ctx, snap, q); err != nil {
			return nil, err
		}
	}
	c.keep(key, v, v.bytes+emptyBytes)
	return v, nil
}

func buildView(ctx context.Context, snap *registry.Snapshot, q listQuery) (*view, error) {
	b := immutable.NewSortedMapBuilder[string, *registry.Entry](nil)
	var bytes int64
	var err error
	n := 0
	snap.Walk(q.order, false, "", func(key string, e *registry.Entry) bool {
		if n++; n%4096 == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		if q.filter.matches(snap, e) {
			b.Set(key, e)
			bytes += entryBytes(key)
		}
		return true
	})
	return &view{snap: snap, entries: b.Map(), bytes: bytes}, err
}

// emptyBytes is what a view or a list's chunks hold when they hold no
// task: their structs, an empty tree or map.
const emptyBytes = 256

// entryBytes is about what one task of a view holds: its key, the
// pointers, and its share of the tree.
func entryBytes(key string) int64 { return int64(len(key)) + 64 }

// update is v for snap, a later snapshot in which only the tasks of uuids
// may differ: each is taken out by its place in v's snapshot and put back
// by its place in snap, when it matches there.
func (v *view) update(snap *registry.Snapshot, q listQuery, uuids []string) *view {
	out := &view{snap: snap, entries: v.entries, bytes: v.bytes}
	q.places(v.snap, snap, uuids, func(key string, e *registry.Entry, now bool) {
		if now {
			out.entries = out.entries.Set(key, e)
			out.bytes += entryBytes(key)
		} else {
			out.entries = out.entries.Delete(key)
			out.bytes -= entryBytes(key)
		}
	})
	return out
}

// places calls fn with the place in q's list of each task of uuids: in
// old (now false) where it was listed there, then in snap (now true)
// where it is listed there.
func (q listQuery) places(old, snap *registry.Snapshot, uuids []string, fn func(key string, e *registry.Entry, now bool)) {
	seen := map[string]bool{}
	for _, id := range uuids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if e, ok := old.Entry(id); ok && q.filter.matches(old, e) {
			fn(q.order.Key(e), e, false)
		}
		if e, ok := snap.Entry(id); ok && q.filter.matches(snap, e) {
			fn(q.order.Key(e), e, true)
		}
	}
}

// dirty is the places in q's list over snap of the tasks that differ
// from old, before and after; ok is false where they cannot be known
// (verdicts change without a save).
func (q listQuery) dirty(snap *registry.Snapshot) func(old *registry.Snapshot) ([]string, bool) {
	return func(old *registry.Snapshot) ([]string, bool) {
		uuids, ok := snap.ChangedSince(old)
		if !ok || q.filter.verdict != nil {
			return nil, false
		}
		var keys []string
		q.places(old, snap, uuids, func(key string, _ *registry.Entry, _ bool) { keys = append(keys, key) })
		return keys, true
	}
}

// walker walks the view in ascending order of its keys, or descending.
func (v *view) walker(desc bool) walker {
	return func(after string, fn func(string, *registry.Entry) bool) {
		registry.WalkSorted(v.entries, desc, after, fn)
	}
}

// Chunks end on an entry whose id hashes to 0 modulo chunkItems (about
// chunkItems entries each), or at maxChunkItems, whichever comes first.
const (
	chunkItems    = 256
	maxChunkItems = 4096
)

// boundary is FNV-1a of the id, written out: hash/fnv would copy the id
// for each of 100,000 entries at every answer.
func boundary(id string) bool {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return h%chunkItems == 0
}

type chunk struct {
	entries []*registry.Entry
	body    []byte // the items, comma-separated

	mu      sync.Mutex
	encoded map[string][]byte // see Part.Encoded
}

// chunkBytes is what a chunk is counted in the budget: its items, its
// entries, and room for its encoded forms (compressed JSON takes a fifth
// to a tenth of it, and a chunk keeps at most maxEncodings of them).
func chunkBytes(c *chunk) int64 { return int64(len(c.body))*3/2 + int64(len(c.entries))*8 + 64 }

// chunkSource is a list to render in chunks: its tasks in order with
// their keys, and, where it can tell, the keys of the tasks that differ
// between an older snapshot and its own.
type chunkSource struct {
	snap  *registry.Snapshot // nil: a list that no snapshot names alone (a page)
	walk  walker
	desc  bool
	dirty func(old *registry.Snapshot) (keys []string, ok bool)
}

// listChunks is a list as last rendered for one selection: its chunks in
// order, with the keys each starts and ends at, and the snapshot it was
// rendered from.
type listChunks struct {
	snap        *registry.Snapshot
	chunks      []*chunk
	first, last []string
	byFirst     map[string]*chunk // by the id of the chunk's first entry
}

// chunks renders the items of a list, list naming it. After a save, the
// chunks whose stretch of the list holds no changed task are the chunks
// of the last rendering, taken as they are; the stretches around the
// changed tasks are walked again, and cut into chunks where the last
// rendering cut them, as far as their entries are the same. Where the
// changes are not known, the whole list is walked, and its chunks are
// matched to the last rendering's by their entries.
func (c *ListCache) chunks(ctx context.Context, list string, item *itemPlan, src chunkSource) ([]*chunk, error) {
	key := "chunks\x00" + list + "\x00" + item.key
	prev := &listChunks{}
	if v, ok := c.get(key); ok {
		prev = v.(*listChunks)
	}
	if src.snap != nil && prev.snap == src.snap {
		return prev.chunks, nil
	}
	b := &chunker{item: item, prev: prev.byFirst, next: &listChunks{snap: src.snap, byFirst: map[string]*chunk{}}}
	var dirty []bool
	if prev.snap != nil && src.snap != nil && src.dirty != nil && len(prev.chunks) > 0 {
		if keys, ok := src.dirty(prev.snap); ok {
			dirty = prev.dirtyChunks(keys, src.desc)
		}
	}
	var err error
	if dirty == nil {
		err = b.walk(ctx, src.walk, "", "", src.desc)
	} else {
		for i := 0; i < len(prev.chunks) && err == nil; {
			if !dirty[i] {
				b.take(prev.chunks[i], prev.first[i], prev.last[i])
				i++
				continue
			}
			// A run of changed chunks: walk from the end of the chunk
			// before it (from the start for the first) to the start of
			// the next unchanged chunk.
			j := i
			for j < len(prev.chunks) && dirty[j] {
				j++
			}
			from, to := "", ""
			if i > 0 {
				from = prev.last[i-1]
			}
			if j < len(prev.chunks) {
				to = prev.first[j]
			}
			err = b.walk(ctx, src.walk, from, to, src.desc)
			i = j
		}
	}
	if err != nil {
		return nil, err
	}
	c.keep(key, b.next, b.bytes+emptyBytes)
	return b.next.chunks, nil
}

// dirtyChunks marks the chunks whose stretch of the list holds one of
// keys: from the chunk's first key to the next chunk's. A key before the
// first chunk marks the first.
func (l *listChunks) dirtyChunks(keys []string, desc bool) []bool {
	dirty := make([]bool, len(l.chunks))
	for _, k := range keys {
		i := sort.Search(len(l.first), func(i int) bool { return before(k, l.first[i], desc) }) - 1
		dirty[max(i, 0)] = true
	}
	return dirty
}

// before says whether key a comes before b in the list's order.
func before(a, b string, desc bool) bool {
	if desc {
		return a > b
	}
	return a < b
}

// chunker cuts a list into chunks as it is walked.
type chunker struct {
	item  *itemPlan
	prev  map[string]*chunk
	next  *listChunks
	bytes int64

	group    []*registry.Entry
	firstKey string
	lastKey  string
	was      *chunk
}

func (b *chunker) take(ch *chunk, first, last string) {
	b.next.chunks = append(b.next.chunks, ch)
	b.next.first = append(b.next.first, first)
	b.next.last = append(b.next.last, last)
	b.next.byFirst[ch.entries[0].ID] = ch
	b.bytes += chunkBytes(ch) + int64(len(first)+len(last))
}

func (b *chunker) flush() {
	if len(b.group) == 0 {
		return
	}
	ch, ok := b.prev[b.group[0].ID]
	if !ok || !slices.Equal(ch.entries, b.group) {
		ch = &chunk{entries: slices.Clone(b.group), body: renderItems(b.item, b.group)}
	}
	b.take(ch, b.firstKey, b.lastKey)
	b.group = b.group[:0]
}

// walk cuts the list from after the key from ("" for the start) to
// before the key to ("" for the end), and ends the last chunk there.
// While the entries are those of the chunk that the group began as
// before, that chunk says where the group ends: no id is hashed again for
// the entries a save left alone.
func (b *chunker) walk(ctx context.Context, walk walker, from, to string, desc bool) error {
	var err error
	walk(from, func(key string, e *registry.Entry) bool {
		if to != "" && !before(key, to, desc) {
			return false
		}
		if len(b.group) == 0 {
			b.was, b.firstKey = b.prev[e.ID], key
		}
		k := len(b.group)
		b.group = append(b.group, e)
		b.lastKey = key
		var end bool
		if b.was != nil && k < len(b.was.entries) && b.was.entries[k] == e {
			end = k == len(b.was.entries)-1
		} else {
			b.was = nil
			end = boundary(e.ID) || len(b.group) == maxChunkItems
		}
		if end {
			if err = ctx.Err(); err != nil {
				return false
			}
			b.flush()
		}
		return true
	})
	if err == nil {
		b.flush()
	}
	return err
}

func renderItems(item *itemPlan, entries []*registry.Entry) []byte {
	var out []byte
	for i, e := range entries {
		if i > 0 {
			out = append(out, ',')
		}
		if i == 1 { // sized by the first item, the rest grow it rarely
			out = slices.Grow(out, len(out)*(len(entries)+len(entries)/8))
		}
		out = append(out, '{')
		for j, f := range item.fields {
			if j > 0 {
				out = append(out, ',')
			}
			out = appendString(out, f.name)
			out = append(out, ':')
			out = f.write(out, e)
		}
		out = append(out, '}')
	}
	return out
}
