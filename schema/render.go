package schema

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// The queries dashboards poll most, `{ tasks { id version label ... } }`
// with or without a filter and an order, and `taskPage`, are lists with
// one item per task, each a function of that task's entry alone.
// graphql-go builds a map per item and encoding/json walks it again: 13
// times what writing the JSON costs. Render writes such answers directly,
// from what ListCache keeps, so that after a save the next answer costs
// the change: the request is not parsed again, a filter's matches are
// brought up to date from the tasks that changed, and only the chunk of
// items that holds a changed task is rendered again.

// Render answers a request that asks only for `tasks` (any arguments)
// and `taskPage` (any arguments, with nodes, totalCount and pageInfo)
// with plain fields of each task (aliases and __typename allowed), byte
// for byte as Execute with encoding/json would. ok is false for any other
// request, and for arguments that graphql-go refuses (a bad cursor, a
// negative first, variables of the wrong type): Execute answers those,
// errors included. The answer comes in parts, to be written one after the
// other: most are chunks of list items kept in lists, and copying 17 MB of
// them into one slice at every answer would cost more than the rest of an
// answer after a save. The error is *AnswerTooLargeError or the context's.
func (x *Executor) Render(ctx context.Context, snap *registry.Snapshot, p *Prepared, req Request, lists *ListCache) (parts []Part, ok bool, err error) {
	if lists == nil {
		return nil, false, nil
	}
	plan := x.plan(ctx, snap, p, req, lists)
	if plan == nil {
		return nil, false, nil
	}
	a := &answerParts{head: []byte(`{"data":{`)}
	for i, root := range plan {
		a.key(i, root.name)
		switch {
		case root.item == nil: // __typename
			a.head = append(a.head, `"Query"`...)
		case !root.call.paged:
			if err := a.list(ctx, snap, lists, root); err != nil {
				return nil, true, err
			}
		default:
			if err := a.page(ctx, snap, lists, root); err != nil {
				return nil, true, err
			}
		}
	}
	a.head = append(a.head, "}}"...)
	a.flush()
	if limit := x.Limits.MaxAnswerBytes; limit > 0 && int64(a.size) > limit {
		return nil, true, &AnswerTooLargeError{Limit: limit}
	}
	return a.parts, true, nil
}

// Part is one part of an answer. A part that is a chunk of list items
// kept in a ListCache can keep its encoded forms (compressed, say) with it,
// so that an answer made mostly of kept chunks is encoded at the cost of
// the chunks that are new.
type Part struct {
	Bytes []byte
	chunk *chunk
}

// Encoded is the form of the part that encode makes, named key: made once
// and kept with the chunk while the chunk is kept, or made afresh for a
// part that is no kept chunk. A form that failed is not kept.
func (p Part) Encoded(key string, encode func() ([]byte, error)) ([]byte, error) {
	c := p.chunk
	if c == nil {
		return encode()
	}
	c.mu.Lock()
	b, ok := c.encoded[key]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := encode()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.encoded == nil {
		c.encoded = map[string][]byte{}
	}
	if len(c.encoded) < maxEncodings {
		c.encoded[key] = b
	}
	return b, nil
}

// Kept says whether the part is a chunk that keeps its encoded forms.
func (p Part) Kept() bool { return p.chunk != nil }

// maxEncodings bounds the encoded forms one chunk keeps; the budget of a
// chunk counts room for them (see chunkBytes).
const maxEncodings = 4

// answerParts is an answer being written: the parts so far, and the bytes
// after them not yet made a part.
type answerParts struct {
	parts []Part
	head  []byte
	size  int
}

func (a *answerParts) flush() {
	if len(a.head) > 0 {
		a.parts = append(a.parts, Part{Bytes: a.head})
		a.size += len(a.head)
		a.head = nil
	}
}

// key writes the name of the i-th member of an object.
func (a *answerParts) key(i int, name string) {
	if i > 0 {
		a.head = append(a.head, ',')
	}
	a.head = appendString(a.head, name)
	a.head = append(a.head, ':')
}

// items writes a JSON array of the chunks' items.
func (a *answerParts) items(chunks []*chunk) {
	a.head = append(a.head, '[')
	for j, c := range chunks {
		if j > 0 {
			a.head = append(a.head, ',')
		}
		a.flush()
		a.parts = append(a.parts, Part{Bytes: c.body, chunk: c})
		a.size += len(c.body)
	}
	a.head = append(a.head, ']')
}

func (a *answerParts) list(ctx context.Context, snap *registry.Snapshot, lists *ListCache, root rootPlan) error {
	l, err := lists.list(ctx, snap, root.call)
	if err != nil {
		return err
	}
	chunks, err := lists.chunks(ctx, "tasks\x00"+l.key, root.item,
		chunkSource{snap: snap, walk: l.walk, desc: root.call.q.desc, dirty: root.call.q.dirty(snap)})
	if err != nil {
		return err
	}
	a.items(chunks)
	return nil
}

func (a *answerParts) page(ctx context.Context, snap *registry.Snapshot, lists *ListCache, root rootPlan) error {
	l, err := lists.list(ctx, snap, root.call)
	if err != nil {
		return err
	}
	entries, end, hasNext := root.call.page(l.walk)
	a.head = append(a.head, '{')
	for i, f := range root.page {
		a.key(i, f.name)
		switch f.field {
		case "__typename":
			a.head = append(a.head, `"TaskPage"`...)
		case "totalCount":
			a.head = strconv.AppendInt(a.head, int64(l.count()), 10)
		case "pageInfo":
			a.head = append(a.head, '{')
			for j, g := range f.info {
				a.key(j, g.name)
				switch g.field {
				case "__typename":
					a.head = append(a.head, `"PageInfo"`...)
				case "hasNextPage":
					a.head = strconv.AppendBool(a.head, hasNext)
				case "endCursor":
					a.head = appendString(a.head, end)
				}
			}
			a.head = append(a.head, '}')
		case "nodes":
			list := "page\x00" + l.key + "\x00" + strconv.Itoa(root.call.first) + "\x00" + root.call.after
			chunks, err := lists.chunks(ctx, list, root.item, chunkSource{walk: func(_ string, fn func(string, *registry.Entry) bool) {
				for _, e := range entries {
					if !fn("", e) {
						return
					}
				}
			}})
			if err != nil {
				return err
			}
			a.items(chunks)
		}
	}
	a.head = append(a.head, '}')
	return nil
}

// rootPlan is one entry of the answer's data: a tasks list, a taskPage,
// or the Query's __typename (item nil).
type rootPlan struct {
	name  string
	field *ast.Field
	item  *itemPlan   // each task of the list, or each node of the page
	page  []pageField // a taskPage's fields; nil for tasks
	call  listCall    // the arguments, as graphql-go read them
}

// pageField is a field of TaskPage, or (in info) of PageInfo.
type pageField struct {
	name, field string
	info        []pageField
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

// noPlan is kept for a request that Render does not take, so that it is
// not looked at again.
type noPlan struct{}

// plan is the plan of a request with its variables: where Render takes
// it, its lists with their arguments as graphql-go coerces them (and
// refuses them: the request then goes to Execute, which says why). It is
// kept by the request's text and variables. nil: Render does not take it.
func (x *Executor) plan(ctx context.Context, snap *registry.Snapshot, p *Prepared, req Request, lists *ListCache) []rootPlan {
	vars, err := json.Marshal(req.Variables)
	if err != nil {
		return nil
	}
	key := "plan\x00" + req.OperationName + "\x00" + req.Query + "\x00" + string(vars)
	if v, ok := lists.get(key); ok {
		plan, _ := v.([]rootPlan)
		return plan
	}
	plan, ok := planLists(p)
	if ok {
		ok = x.capture(ctx, snap, p, req, plan)
	}
	switch {
	case !ok && ctx.Err() != nil:
		return nil // the request went away: it says nothing of the plan
	case !ok:
		lists.keep(key, noPlan{}, 0) // its key is counted by the cache
		return nil
	}
	lists.keep(key, plan, int64(len(plan))*256)
	return plan
}

// capture reads the arguments of every list as graphql-go reads them: it
// runs the request with resolvers that record their arguments and
// answer nothing. ok is false when graphql-go refuses them.
func (x *Executor) capture(ctx context.Context, snap *registry.Snapshot, p *Prepared, req Request, plan []rootPlan) bool {
	c := &capture{calls: map[*ast.Field]listCall{}}
	res, err := x.execute(context.WithValue(ctx, captureKey{}, c), snap, p, req, nil)
	if err != nil || res.Data == nil || len(res.Errors) > 0 {
		return false
	}
	for i, root := range plan {
		if root.item == nil {
			continue
		}
		call, ok := c.calls[root.field]
		if !ok || call.paged != (root.page != nil) {
			return false
		}
		plan[i].call = call
	}
	return true
}

type captureKey struct{}

// capture holds the arguments that the list fields of a run were called
// with, by the field that called them.
type capture struct {
	mu    sync.Mutex
	calls map[*ast.Field]listCall
}

// captureOf is the capture under way, or nil when the run is for real.
func captureOf(ctx context.Context) *capture {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(captureKey{}).(*capture)
	return c
}

func (c *capture) put(p graphql.ResolveParams, call listCall) {
	if len(p.Info.FieldASTs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[p.Info.FieldASTs[0]] = call
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

// planLists reads a prepared request as lists of plain task fields; ok is
// false when it asks for anything else. The validated document is
// trusted for names and types: only its shape is checked here.
func planLists(p *Prepared) ([]rootPlan, bool) {
	if p.op.Operation != ast.OperationTypeQuery || len(p.op.Directives) > 0 {
		return nil, false
	}
	var plan []rootPlan
	for _, sel := range p.op.SelectionSet.Selections {
		f, ok := plainField(sel)
		if !ok {
			return nil, false
		}
		root := rootPlan{name: responseName(f), field: f}
		switch {
		case f.Name.Value == "__typename":
		case f.Name.Value == "tasks" && f.SelectionSet != nil:
			if root.item, ok = planItem(f.SelectionSet); !ok {
				return nil, false
			}
		case f.Name.Value == "taskPage" && f.SelectionSet != nil:
			if root.page, root.item, ok = planPage(f.SelectionSet); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		plan = append(plan, root)
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

// plainField is a selection that is a field with no directives: fragments
// and directives are graphql-go's.
func plainField(sel ast.Selection) (*ast.Field, bool) {
	f, ok := sel.(*ast.Field)
	return f, ok && len(f.Directives) == 0
}

func planItem(set *ast.SelectionSet) (*itemPlan, bool) {
	var fields []itemField
	for _, sel := range set.Selections {
		f, ok := plainField(sel)
		if !ok || len(f.Arguments) > 0 || f.SelectionSet != nil {
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

// planPage reads a TaskPage's selection: nodes of plain task fields,
// totalCount, pageInfo and __typename.
func planPage(set *ast.SelectionSet) ([]pageField, *itemPlan, bool) {
	var fields []pageField
	var item *itemPlan
	for _, sel := range set.Selections {
		f, ok := plainField(sel)
		if !ok || len(f.Arguments) > 0 {
			return nil, nil, false
		}
		pf := pageField{name: responseName(f), field: f.Name.Value}
		switch {
		case f.Name.Value == "nodes" && f.SelectionSet != nil:
			if item, ok = planItem(f.SelectionSet); !ok {
				return nil, nil, false
			}
		case f.Name.Value == "pageInfo" && f.SelectionSet != nil:
			for _, sel := range f.SelectionSet.Selections {
				g, ok := plainField(sel)
				if !ok || len(g.Arguments) > 0 || g.SelectionSet != nil {
					return nil, nil, false
				}
				pf.info = append(pf.info, pageField{name: responseName(g), field: g.Name.Value})
			}
			pf.info, _ = sortMerged(pf.info, func(g pageField) string { return g.name })
		case (f.Name.Value == "totalCount" || f.Name.Value == "__typename") && f.SelectionSet == nil:
		default:
			return nil, nil, false
		}
		fields = append(fields, pf)
	}
	fields, merged := sortMerged(fields, func(f pageField) string { return f.name })
	for _, name := range merged {
		if i := slices.IndexFunc(fields, func(f pageField) bool { return f.name == name }); fields[i].field == "nodes" || fields[i].field == "pageInfo" {
			return nil, nil, false // merged selections: graphql-go's job
		}
	}
	if item == nil {
		// A page without nodes: its items are none, and an empty plan
		// names no selection.
		item = &itemPlan{key: "-"}
	}
	return fields, item, true
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
