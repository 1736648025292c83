package schema

import (
	lru "container/list"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/graphql-go/graphql/language/ast"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// The query dashboards poll most, `{ tasks { id version label ... } }`,
// is a list with one item per task, each a function of that task's entry
// alone. graphql-go builds a map per item and encoding/json walks it
// again: 13 times what writing the JSON costs. Render writes such
// answers directly, and keeps each list's rendered items, in chunks, by
// the selection and the entries they show, so that after a save the next
// answer renders the chunk of the changed task and copies the rest.

// Render answers a request that asks only for `tasks`, without arguments,
// with plain fields of each task (aliases and __typename allowed),
// byte for byte as Execute with encoding/json would. ok is false for any
// other request, which Execute answers. The answer comes in parts, to be
// written one after the other: most are chunks of list items kept in
// lists, and copying 17 MB of them into one slice at every answer would
// cost more than the rest of an answer after a save. The error is
// *AnswerTooLargeError or the context's.
func (x *Executor) Render(ctx context.Context, snap *registry.Snapshot, p *Prepared, lists *ListCache) (parts [][]byte, ok bool, err error) {
	plan, ok := planList(p)
	if !ok || lists == nil {
		return nil, false, nil
	}
	size := 0
	comma := []byte{','}
	var head []byte
	head = append(head, `{"data":{`...)
	for i, root := range plan {
		if i > 0 {
			head = append(head, ',')
		}
		head = appendString(head, root.name)
		head = append(head, ':')
		if root.item == nil { // __typename
			head = append(head, `"Query"`...)
			continue
		}
		chunks, err := lists.render(ctx, snap, root.item)
		if err != nil {
			return nil, true, err
		}
		head = append(head, '[')
		parts = append(parts, head)
		size += len(head)
		for j, c := range chunks {
			if j > 0 {
				parts = append(parts, comma)
			}
			parts = append(parts, c.body)
			size += len(c.body) + 1
		}
		head = []byte{']'}
	}
	head = append(head, "}}"...)
	parts = append(parts, head)
	size += len(head)
	if limit := x.Limits.MaxAnswerBytes; limit > 0 && int64(size) > limit {
		return nil, true, &AnswerTooLargeError{Limit: limit}
	}
	return parts, true, nil
}

// rootPlan is one entry of the answer's data: a tasks list, or the
// Query's __typename (item nil).
type rootPlan struct {
	name string
	item *itemPlan
}

// itemPlan is what each task of a list shows: fields sorted by the name
// they take in the answer, as encoding/json sorts a map's keys.
type itemPlan struct {
	key    string // names the selection, for the cache
	fields []itemField
}

type itemField struct {
	name  string // alias or field name
	write func(dst []byte, e *registry.Entry) []byte
}

// itemWriter writes a Task field that an item may select: each reads the
// entry and its latest version only, as the field's resolver does.
func itemWriter(field string) (func(dst []byte, e *registry.Entry) []byte, bool) {
	str := func(get func(*registry.Task) string) func([]byte, *registry.Entry) []byte {
		return func(d []byte, e *registry.Entry) []byte { return appendString(d, get(e.Latest)) }
	}
	switch field {
	case "id":
		return str(func(t *registry.Task) string { return t.ID }), true
	case "version":
		return str(func(t *registry.Task) string { return t.Version }), true
	case "label":
		return str(func(t *registry.Task) string { return t.Label }), true
	case "description":
		return str(func(t *registry.Task) string { return t.Description }), true
	case "source":
		return str(func(t *registry.Task) string { return t.Source }), true
	case "path":
		return str(func(t *registry.Task) string { return t.Path }), true
	case "digest":
		return str(func(t *registry.Task) string { return t.Digest }), true
	case "__typename":
		return func(d []byte, _ *registry.Entry) []byte { return append(d, `"Task"`...) }, true
	case "stale":
		return func(d []byte, e *registry.Entry) []byte { return strconv.AppendBool(d, e.Latest.Stale) }, true
	case "tags":
		return func(d []byte, e *registry.Entry) []byte { return appendStrings(d, e.Latest.Tags) }, true
	case "availableVersions":
		return func(d []byte, e *registry.Entry) []byte {
			d = append(d, '[')
			for i, t := range e.Versions {
				if i > 0 {
					d = append(d, ',')
				}
				d = appendString(d, t.Version)
			}
			return append(d, ']')
		}, true
	}
	return nil, false
}

// planList reads a prepared request as lists of plain task fields; ok is
// false when it asks for anything else. The validated document is
// trusted for names and types: only its shape is checked here.
func planList(p *Prepared) ([]rootPlan, bool) {
	if p.op.Operation != ast.OperationTypeQuery || len(p.op.Directives) > 0 {
		return nil, false
	}
	var plan []rootPlan
	for _, sel := range p.op.SelectionSet.Selections {
		f, ok := sel.(*ast.Field)
		if !ok || len(f.Directives) > 0 || len(f.Arguments) > 0 {
			return nil, false
		}
		name := responseName(f)
		switch {
		case f.Name.Value == "__typename":
			plan = append(plan, rootPlan{name: name})
		case f.Name.Value == "tasks" && f.SelectionSet != nil:
			item, ok := planItem(f.SelectionSet)
			if !ok {
				return nil, false
			}
			plan = append(plan, rootPlan{name: name, item: item})
		default:
			return nil, false
		}
	}
	plan, merged := sortMerged(plan, func(r rootPlan) string { return r.name })
	for _, name := range merged {
		for _, r := range plan {
			if r.name == name && r.item != nil {
				return nil, false // two lists under one name merge their selections: graphql-go's job
			}
		}
	}
	return plan, true
}

func planItem(set *ast.SelectionSet) (*itemPlan, bool) {
	var fields []itemField
	for _, sel := range set.Selections {
		f, ok := sel.(*ast.Field)
		if !ok || len(f.Directives) > 0 || len(f.Arguments) > 0 || f.SelectionSet != nil {
			return nil, false
		}
		w, ok := itemWriter(f.Name.Value)
		if !ok {
			return nil, false
		}
		fields = append(fields, itemField{name: responseName(f), write: w})
	}
	fields, _ = sortMerged(fields, func(f itemField) string { return f.name })
	if len(fields) == 0 {
		return nil, false
	}
	var key strings.Builder
	for _, set := range set.Selections {
		f := set.(*ast.Field)
		key.WriteString(responseName(f) + ":" + f.Name.Value + ",")
	}
	names := strings.Split(strings.TrimSuffix(key.String(), ","), ",")
	slices.Sort(names)
	return &itemPlan{key: strings.Join(slices.Compact(names), ","), fields: fields}, true
}

// sortMerged orders entries by their name in the answer, as encoding/json
// orders a map's keys, and keeps one of each name (validation has made
// sure that entries of one name ask for the same field); merged lists the
// names that came more than once.
func sortMerged[T any](xs []T, name func(T) string) (out []T, merged []string) {
	sort.SliceStable(xs, func(i, j int) bool { return name(xs[i]) < name(xs[j]) })
	for i, x := range xs {
		if i > 0 && name(x) == name(xs[i-1]) {
			merged = append(merged, name(x))
			continue
		}
		out = append(out, x)
	}
	return out, merged
}

func responseName(f *ast.Field) string {
	if f.Alias != nil {
		return f.Alias.Value
	}
	return f.Name.Value
}

// appendString writes s as encoding/json does; the common string, printable
// ASCII with nothing to escape, is copied as it is.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendStrings writes a list that is [] when empty, as orEmpty makes it.
func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// ListCache keeps rendered list items, within a byte budget, by the
// selection that made them: for each selection, the chunks of the last
// list rendered. A chunk is a run of entries in id order, cut where an
// entry's id hashes to a boundary, so that adding or removing a task
// changes one chunk and leaves the cuts of the others where they were; a
// chunk is used again while it holds the very same entries (an entry is
// replaced whenever a version of its task changes).
type ListCache struct {
	mu       sync.Mutex
	lru      *lru.List // of *selectionChunks, most recent first
	bySel    map[string]*lru.Element
	bytes    int64
	maxBytes int64
}

type selectionChunks struct {
	key    string
	chunks map[string]*chunk // by the id of the chunk's first entry
	bytes  int64
}

type chunk struct {
	entries []*registry.Entry
	body    []byte // the items, comma-separated
}

// NewListCache keeps up to maxBytes of rendered items.
func NewListCache(maxBytes int64) *ListCache {
	return &ListCache{lru: lru.New(), bySel: map[string]*lru.Element{}, maxBytes: maxBytes}
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

func (c *ListCache) render(ctx context.Context, snap *registry.Snapshot, item *itemPlan) ([]*chunk, error) {
	c.mu.Lock()
	var prev map[string]*chunk
	if el, ok := c.bySel[item.key]; ok {
		prev = el.Value.(*selectionChunks).chunks
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()

	var out []*chunk
	next := map[string]*chunk{}
	var bytes int64
	group := make([]*registry.Entry, 0, maxChunkItems)
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
		bytes += int64(len(ch.body)) + int64(len(ch.entries))*8
		group = group[:0]
	}
	// While the entries are those of the chunk that the group began as
	// before, that chunk says where the group ends: no id is hashed
	// again for the entries a save left alone.
	var was *chunk
	snap.Walk(registry.ByID, false, "", func(_ string, e *registry.Entry) bool {
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
	c.keep(&selectionChunks{key: item.key, chunks: next, bytes: bytes})
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

// keep replaces a selection's chunks, and forgets the selections used
// longest ago while over the budget; a list larger than the whole budget
// is not kept.
func (c *ListCache) keep(s *selectionChunks) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.bySel[s.key]; ok {
		c.bytes -= el.Value.(*selectionChunks).bytes
		c.lru.Remove(el)
		delete(c.bySel, s.key)
	}
	if s.bytes > c.maxBytes {
		return
	}
	c.bySel[s.key] = c.lru.PushFront(s)
	c.bytes += s.bytes
	for c.bytes > c.maxBytes {
		el := c.lru.Back()
		old := el.Value.(*selectionChunks)
		c.lru.Remove(el)
		delete(c.bySel, old.key)
		c.bytes -= old.bytes
	}
}
