package schema

import (
	lru "container/list"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/benbjohnson/immutable"
	"github.com/ratchet-tasks/ratchet-registry/registry"
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
// changes), whatever list it is part of.
type ListCache struct {
	mu       sync.Mutex
	lru      *lru.List // of *kept, most recent first
	byKey    map[string]*lru.Element
	bytes    int64
	maxBytes int64
	scans    atomic.Int64 // views built by looking at every task, for tests
}

type kept struct {
	key   string
	value any
	bytes int64
}

// NewListCache keeps up to maxBytes.
func NewListCache(maxBytes int64) *ListCache {
	return &ListCache{lru: lru.New(), byKey: map[string]*lru.Element{}, maxBytes: maxBytes}
}

func (c *ListCache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*kept).value, true
}

// keep replaces what is kept under key, and forgets what was used
// longest ago while over the budget; a value larger than the whole budget
// is not kept.
func (c *ListCache) keep(key string, value any, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.bytes -= el.Value.(*kept).bytes
		c.lru.Remove(el)
		delete(c.byKey, key)
	}
	if bytes > c.maxBytes {
		return
	}
	c.byKey[key] = c.lru.PushFront(&kept{key: key, value: value, bytes: bytes})
	c.bytes += bytes
	for c.bytes > c.maxBytes {
		el := c.lru.Back()
		old := el.Value.(*kept)
		c.lru.Remove(el)
		delete(c.byKey, old.key)
		c.bytes -= old.bytes
	}
}

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

// key names what q lists: its order, then its direction, then its
// filter.
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
	c.keep(key, v, v.bytes)
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

// entryBytes is about what one task of a view holds: its key, the
// pointers, and its share of the tree.
func entryBytes(key string) int64 { return int64(len(key)) + 64 }

// update is v for snap, a later snapshot in which only the tasks of uuids
// may differ: each is taken out by its place in v's snapshot and put back
// by its place in snap, when it matches there.
func (v *view) update(snap *registry.Snapshot, q listQuery, uuids []string) *view {
	out := &view{snap: snap, entries: v.entries, bytes: v.bytes}
	seen := map[string]bool{}
	for _, id := range uuids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if e, ok := v.snap.Entry(id); ok && q.filter.matches(v.snap, e) {
			key := q.order.Key(e)
			out.entries = out.entries.Delete(key)
			out.bytes -= entryBytes(key)
		}
		if e, ok := snap.Entry(id); ok && q.filter.matches(snap, e) {
			key := q.order.Key(e)
			out.entries = out.entries.Set(key, e)
			out.bytes += entryBytes(key)
		}
	}
	return out
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

// chunks renders the items of a list, list naming it: the chunks that the
// last rendering of the same list and selection made are used again
// where they hold the same entries.
func (c *ListCache) chunks(ctx context.Context, list string, item *itemPlan, walk func(fn func(e *registry.Entry) bool)) ([]*chunk, error) {
	key := "chunks\x00" + list + "\x00" + item.key
	var prev map[string]*chunk
	if v, ok := c.get(key); ok {
		prev = v.(map[string]*chunk)
	}
	var out []*chunk
	next := map[string]*chunk{}
	var bytes int64
	group := make([]*registry.Entry, 0, 64)
	var err error
	flush := func() {
		if len(group) == 0 {
			return
		}
		first := group[0].ID
		ch, ok := prev[first]
		if !ok || !slices.Equal(ch.entries, group) {
			ch = &chunk{entries: slices.Clone(group), body: renderItems(item, group)}
		}
		next[first] = ch
		out = append(out, ch)
		bytes += chunkBytes(ch)
		group = group[:0]
	}
	// While the entries are those of the chunk that the group began as
	// before, that chunk says where the group ends: no id is hashed
	// again for the entries a save left alone.
	var was *chunk
	walk(func(e *registry.Entry) bool {
		if len(group) == 0 {
			was = prev[e.ID]
		}
		k := len(group)
		group = append(group, e)
		var end bool
		if was != nil && k < len(was.entries) && was.entries[k] == e {
			end = k == len(was.entries)-1
		} else {
			was = nil
			end = boundary(e.ID) || len(group) == maxChunkItems
		}
		if end {
			if err = ctx.Err(); err != nil {
				return false
			}
			flush()
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	flush()
	c.keep(key, next, bytes)
	return out, nil
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
