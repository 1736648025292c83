package schema

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Page sizes of taskPage.
const (
	defaultPage = 50
	maxPage     = 1000
)

// listing holds the input types and enums of tasks and taskPage.
type listing struct {
	filter, order *graphql.InputObject
	verdict       *graphql.Enum
	page          *graphql.Object
}

func (t *types) buildListing() {
	// t.list.verdict is the VerdictStatus of Task.verdict, made in build.
	t.list.filter = graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        "TaskFilter",
		Description: "Which tasks to list; every condition given must hold, of the latest version (or of any one version, with anyVersion).",
		Fields: graphql.InputObjectConfigFieldMap{
			"search":     {Type: graphql.String, Description: "Text found, case-insensitively, in the label, the description or the id."},
			"tags":       {Type: graphql.NewList(graphql.NewNonNull(graphql.String)), Description: "Tags the task must all have (metadata.json's tags)."},
			"source":     {Type: graphql.String, Description: "The name of the source the task comes from."},
			"stale":      {Type: graphql.Boolean, Description: "True for tasks whose files are broken now (served from their last good load), false for the others."},
			"verdict":    {Type: t.list.verdict, Description: "Where the task's test cases stand."},
			"anyVersion": {Type: graphql.Boolean, DefaultValue: false, Description: "True: a task matches when any one of its versions meets every condition (verdict: FAILED then finds a task whose older version fails while its latest passes); the task is still listed by its latest version, whose versions field shows each. False (the default): the conditions hold of the latest version."},
		},
	})
	field := graphql.NewEnum(graphql.EnumConfig{
		Name:        "TaskOrderField",
		Description: "What tasks are ordered by; ties are broken by id.",
		Values: graphql.EnumValueConfigMap{
			"LABEL":   {Value: "LABEL", Description: "The label, case-insensitively."},
			"ID":      {Value: "ID", Description: "The task's UUID (the default)."},
			"UPDATED": {Value: "UPDATED", Description: "When any version of the task last changed, as this server saw it."},
		},
	})
	dir := graphql.NewEnum(graphql.EnumConfig{
		Name:        "OrderDirection",
		Description: "Ascending or descending.",
		Values: graphql.EnumValueConfigMap{
			"ASC":  {Value: "ASC", Description: "Smallest first."},
			"DESC": {Value: "DESC", Description: "Largest first."},
		},
	})
	t.list.order = graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        "TaskOrder",
		Description: "The order of a list of tasks.",
		Fields: graphql.InputObjectConfigFieldMap{
			"field":     {Type: graphql.NewNonNull(field), Description: "What to order by."},
			"direction": {Type: dir, DefaultValue: "ASC", Description: "ASC (the default) or DESC."},
		},
	})
	pageInfo := graphql.NewObject(graphql.ObjectConfig{
		Name:        "PageInfo",
		Description: "Where a page ends, to ask for the next one.",
		Fields: graphql.Fields{
			"hasNextPage": field2(graphql.NewNonNull(graphql.Boolean), "True when more tasks follow this page.", func(p *taskPage) any { return p.hasNext }),
			"endCursor":   field2(graphql.String, "Pass as after to get the next page. Never null: an empty page (first: 0, or past the end) ends where it began, so that a walk goes on from there whatever hasNextPage says.", func(p *taskPage) any { return p.end }),
		},
	})
	t.list.page = graphql.NewObject(graphql.ObjectConfig{
		Name:        "TaskPage",
		Description: "One page of tasks.",
		Fields: graphql.Fields{
			"nodes":      field2(list(t.task), "The tasks of this page, latest version of each.", func(p *taskPage) any { return p.nodes }),
			"totalCount": field2(graphql.NewNonNull(graphql.Int), "How many tasks match the filter in all (a full count: cheap without a filter, a scan with one).", func(p *taskPage) any { return p.total() }),
			"pageInfo":   field2(graphql.NewNonNull(pageInfo), "Where the page ends.", func(p *taskPage) any { return p }),
		},
	})
}

func field2(typ graphql.Output, desc string, get func(*taskPage) any) *graphql.Field {
	return field(typ, desc, func(p graphql.ResolveParams) (any, error) { return get(src[*taskPage](p)), nil })
}

func (t *types) listArgs() graphql.FieldConfigArgument {
	return graphql.FieldConfigArgument{
		"filter":  {Type: t.list.filter, Description: "Only the tasks that match; all when omitted."},
		"orderBy": {Type: t.list.order, Description: "The order; by id ascending when omitted."},
	}
}

// tasksField is Query.tasks: every task, or those that match, in order.
func (t *types) tasksField() *graphql.Field {
	return &graphql.Field{
		Type:        list(t.task),
		Description: "The latest version of each task, by id unless orderBy says otherwise; with filter, only those that match.",
		Args:        t.listArgs(),
		Resolve: safe(func(p graphql.ResolveParams) (any, error) {
			q, err := readListArgs(p.Args)
			if err != nil {
				return nil, err
			}
			if c := captureOf(p.Context); c != nil {
				c.put(p, listCall{q: q, key: q.key()})
				return []*registry.Task{}, nil
			}
			snap := snapshotOf(p.Context)
			if q.filter.empty() && q.order == registry.ByID && !q.desc {
				return snap.Latest(), nil
			}
			out := []*registry.Task{}
			q.walker(snap)("", func(_ string, e *registry.Entry) bool {
				out = append(out, e.Latest)
				return true
			})
			return out, nil
		}),
	}
}

// taskPageField is Query.taskPage.
func (t *types) taskPageField() *graphql.Field {
	args := t.listArgs()
	args["first"] = &graphql.ArgumentConfig{Type: graphql.Int, DefaultValue: defaultPage,
		Description: fmt.Sprintf("How many tasks, at most %d (more is taken as %d).", maxPage, maxPage)}
	args["after"] = &graphql.ArgumentConfig{Type: graphql.String,
		Description: "The endCursor of the page before; the first page when omitted. Cursors stay valid while tasks change: a walk sees every task that existed throughout exactly once (for LABEL and ID orders)."}
	return &graphql.Field{
		Type:        graphql.NewNonNull(t.list.page),
		Description: "One page of tasks (latest version of each), for catalogues too large to fetch at once.",
		Args:        args,
		Resolve: safe(func(p graphql.ResolveParams) (any, error) {
			call, err := readPageArgs(p.Args)
			if err != nil {
				return nil, err
			}
			if c := captureOf(p.Context); c != nil {
				c.put(p, call)
				return &taskPage{nodes: []*registry.Task{}, total: func() int { return 0 }}, nil
			}
			snap := snapshotOf(p.Context)
			q := call.q
			walk := q.walker(snap)
			entries, end, hasNext := call.page(walk)
			page := &taskPage{nodes: make([]*registry.Task, len(entries)), end: end, hasNext: hasNext, total: func() int {
				if q.filter.empty() {
					return snap.TaskCount()
				}
				n := 0
				walk("", func(string, *registry.Entry) bool { n++; return true })
				return n
			}}
			for i, e := range entries {
				page.nodes[i] = e.Latest
			}
			return page, nil
		}),
	}
}

// listCall is what one tasks or taskPage field was asked for, its
// arguments read as graphql-go coerced them.
type listCall struct {
	q     listQuery
	key   string // names the list: q.key()
	paged bool   // taskPage: first and after apply
	first int    // at most maxPage
	after string // the key the page starts after; "" for the start
}

func readPageArgs(args map[string]any) (listCall, error) {
	q, err := readListArgs(args)
	if err != nil {
		return listCall{}, err
	}
	first, _ := args["first"].(int)
	if first < 0 {
		return listCall{}, errors.New("first must be 0 or more")
	}
	call := listCall{q: q, key: q.key(), paged: true, first: min(first, maxPage)}
	if c, ok := args["after"].(string); ok && c != "" {
		if call.after, err = q.decodeCursor(c); err != nil {
			return listCall{}, err
		}
	}
	return call, nil
}

// walker walks a list of tasks in its order from after a key ("" for the
// start), until fn returns false.
type walker func(after string, fn func(key string, e *registry.Entry) bool)

// walker is the tasks of snap that q matches, in q's order, looked at
// one by one.
func (q listQuery) walker(snap *registry.Snapshot) walker {
	if q.filter.empty() {
		// Every task: no filter to ask, 100,000 times for a full list.
		return func(after string, fn func(string, *registry.Entry) bool) { snap.Walk(q.order, q.desc, after, fn) }
	}
	return func(after string, fn func(string, *registry.Entry) bool) {
		snap.Walk(q.order, q.desc, after, func(key string, e *registry.Entry) bool {
			return !q.filter.matches(snap, e) || fn(key, e)
		})
	}
}

// page is the call's page of a list: its tasks, the cursor it ends at and
// whether more follow. An empty page ends where it began: at after, or
// before the first task (the empty key), never at a null cursor that a
// client could not go on from.
func (c listCall) page(walk walker) (entries []*registry.Entry, end string, hasNext bool) {
	last := c.after
	entries = make([]*registry.Entry, 0, c.first)
	walk(c.after, func(key string, e *registry.Entry) bool {
		if len(entries) == c.first {
			hasNext = true
			return false
		}
		entries = append(entries, e)
		last = key
		return true
	})
	return entries, c.q.cursor(last), hasNext
}

var orders = map[string]registry.Order{"ID": registry.ByID, "LABEL": registry.ByLabel, "UPDATED": registry.ByUpdated}

type taskPage struct {
	nodes   []*registry.Task
	hasNext bool
	end     string
	total   func() int
}

// listQuery is what tasks and taskPage were asked for.
type listQuery struct {
	filter taskFilter
	order  registry.Order
	desc   bool
}

func readListArgs(args map[string]any) (listQuery, error) {
	q := listQuery{order: registry.ByID}
	if o, ok := args["orderBy"].(map[string]any); ok {
		q.order = orders[o["field"].(string)]
		q.desc = o["direction"] == "DESC"
	}
	f, _ := args["filter"].(map[string]any)
	if s, ok := f["search"].(string); ok {
		q.filter.search = strings.ToLower(s)
	}
	if tags, ok := f["tags"].([]any); ok {
		for _, tag := range tags {
			if s, ok := tag.(string); ok {
				q.filter.tags = append(q.filter.tags, s)
			}
		}
	}
	if s, ok := f["source"].(string); ok {
		q.filter.source = &s
	}
	if b, ok := f["stale"].(bool); ok {
		q.filter.stale = &b
	}
	if v, ok := f["verdict"].(registry.VerdictStatus); ok {
		q.filter.verdict = &v
	}
	q.filter.anyVersion, _ = f["anyVersion"].(bool)
	return q, nil
}

// A cursor names a place in one order: the order, the direction and the
// task's key there (which ends with its uuid). It does not name a
// position, so tasks added or removed before it do not shift a walk.
const cursorVersion = "c1"

func (q listQuery) cursor(key string) string {
	raw := cursorVersion + "\x00" + strconv.Itoa(int(q.order)) + "\x00" + strconv.FormatBool(q.desc) + "\x00" + key
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func (q listQuery) decodeCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	parts := strings.SplitN(string(raw), "\x00", 4)
	if err != nil || len(parts) != 4 || parts[0] != cursorVersion {
		return "", fmt.Errorf("after %q is not a cursor of this server: pass a pageInfo.endCursor", c)
	}
	if parts[1] != fmt.Sprint(int(q.order)) || parts[2] != fmt.Sprint(q.desc) {
		return "", errors.New("after is a cursor of another orderBy: walk a list in the order it started in")
	}
	return parts[3], nil
}

type taskFilter struct {
	search  string // lowercased
	tags    []string
	source  *string
	stale   *bool
	verdict *registry.VerdictStatus
	// anyVersion: the conditions hold of one version, any; else of the
	// latest. Alone it matches every task, so empty ignores it.
	anyVersion bool
}

// matches reports whether a task matches, by its latest version or, with
// anyVersion, by any one of them.
func (f *taskFilter) matches(snap *registry.Snapshot, e *registry.Entry) bool {
	if !f.anyVersion {
		return f.match(snap, e.Latest)
	}
	return slices.ContainsFunc(e.Versions, func(t *registry.Task) bool { return f.match(snap, t) })
}

func (f taskFilter) empty() bool {
	return f.search == "" && len(f.tags) == 0 && f.source == nil && f.stale == nil && f.verdict == nil
}

func (f *taskFilter) match(snap *registry.Snapshot, t *registry.Task) bool {
	switch {
	case f.search != "" && !containsLower(t.Label, f.search) &&
		!containsLower(t.Description, f.search) && !strings.Contains(t.ID, f.search):
		return false
	case f.source != nil && t.Source != *f.source:
		return false
	case f.stale != nil && t.Stale != *f.stale:
		return false
	case f.verdict != nil && verdictStatus(snap, t) != *f.verdict:
		return false
	}
	for _, tag := range f.tags {
		if !slices.Contains(t.Tags, tag) {
			return false
		}
	}
	return true
}

// containsLower says whether strings.ToLower(s) contains sub, without
// making the lowered copy where s is ASCII: a filter looks at every
// task's label and description, 200,000 copies at 100,000 tasks.
func containsLower(s, sub string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), sub)
		}
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerASCII(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// verdictStatus is where a task's tests stand, for the verdict filter.
func verdictStatus(snap *registry.Snapshot, t *registry.Task) registry.VerdictStatus {
	return snap.Verdict(t).Status
}
