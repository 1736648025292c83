package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// handFedCatalogue is a registry of n copies of the test catalogue's add
// task, each its own uuid, with labels, descriptions and tags that
// encoding/json escapes, and a second version for every third.
func handFedCatalogue(tb testing.TB, n int) (*registry.Registry, int, func(i int, label string) registry.RootResult) {
	tb.Helper()
	base, ok := loaded(tb).Task("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "")
	if !ok {
		tb.Fatal("the test catalogue has no add task")
	}
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(handFed{})
	make := func(i int, label string) registry.RootResult {
		t := *base
		t.ID = fmt.Sprintf("%08x-0000-4000-8000-%012d", i*7919%n, i%(n/3+1))
		t.Label = label
		t.Description = []string{"plain", `<b>"quoted" & \ back</b>`, "über\u2028line\nnext\x01", "\xff bad utf-8"}[i%4]
		t.Tags = [][]string{nil, {"a", "<b>"}, {}}[i%3]
		if i%3 == 2 {
			t.Version = "2.0.0-rc.1"
		}
		if i%5 == 0 {
			t.Source = "other"
		}
		t.Root = fmt.Sprintf("t%06d", i)
		return registry.RootResult{Root: t.Root, Task: &t}
	}
	u := registry.Update{Source: idx, Complete: true}
	for i := range n {
		u.Results = append(u.Results, make(i, fmt.Sprintf("Task %d", i)))
	}
	reg.Apply(u)
	return reg, idx, make
}

// executed is the answer of graphql-go and encoding/json, as httpapi
// writes it when Render declines; wantErr is part of its error, or "".
func executed(tb testing.TB, x *Executor, snap *registry.Snapshot, req Request, wantErr string) []byte {
	tb.Helper()
	p, f := x.Prepare(req)
	if f != nil {
		tb.Fatal(f.Errors)
	}
	res, err := x.Execute(context.Background(), snap, p, req)
	if err != nil {
		tb.Fatal(err)
	}
	if got := fmt.Sprint(res.Errors); (wantErr == "") != (len(res.Errors) == 0) || !strings.Contains(got, wantErr) {
		tb.Fatalf("%s: got errors %s, want %q", req.Query, got, wantErr)
	}
	b, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// cursorOf is the endCursor of a page, from graphql-go.
func cursorOf(tb testing.TB, x *Executor, snap *registry.Snapshot, args string) string {
	tb.Helper()
	var out struct {
		Data struct {
			TaskPage struct{ PageInfo struct{ EndCursor string } }
		}
	}
	if err := json.Unmarshal(executed(tb, x, snap, Request{Query: "{ taskPage" + args + " { pageInfo { endCursor } } }"}, ""), &out); err != nil {
		tb.Fatal(err)
	}
	return out.Data.TaskPage.PageInfo.EndCursor
}

// renderCase is a request, whether Render takes it, and the error
// graphql-go answers it with when it does not.
type renderCase struct {
	query   string
	vars    string
	takes   bool
	wantErr string
}

// renderCases are the queries of the Render tests: every argument of
// tasks and taskPage, as literals and as variables, and what Render
// leaves to graphql-go.
func renderCases(tb testing.TB, x *Executor, snap *registry.Snapshot) []renderCase {
	tb.Helper()
	const item = "{ id label version }"
	page := func(args string) string {
		return "{ taskPage" + args + " { nodes " + item + " totalCount pageInfo { endCursor hasNextPage __typename } __typename } }"
	}
	mid := cursorOf(tb, x, snap, "(first: 7)")
	midLabel := cursorOf(tb, x, snap, `(first: 9, orderBy: {field: LABEL, direction: DESC}, filter: {search: "1"})`)
	end := cursorOf(tb, x, snap, "(first: 1000)")
	return []renderCase{
		{query: "{ tasks { id version label description availableVersions } }", takes: true},
		{query: "{ tasks { id tags stale source path digest __typename } }", takes: true},
		{query: "query Poll { b: tasks { label id: id } a: tasks { z: id a: label } __typename }", takes: true},
		{query: `{ tasks(filter: {search: "TASK 1"}) ` + item + ` }`, takes: true},
		{query: `{ tasks(filter: {search: "quoted"}, orderBy: {field: LABEL, direction: DESC}) ` + item + ` }`, takes: true},
		{query: `{ tasks(filter: {tags: ["a", "<b>"]}) ` + item + ` }`, takes: true},
		{query: `{ tasks(filter: {source: "other", stale: false}) ` + item + ` }`, takes: true},
		{query: `{ tasks(filter: {verdict: NONE, anyVersion: true}) ` + item + ` }`, takes: true},
		{query: `{ tasks(filter: {stale: true}) ` + item + ` }`, takes: true},
		{query: `{ tasks(orderBy: {field: UPDATED}) ` + item + ` }`, takes: true},
		{query: `query($f: TaskFilter, $o: TaskOrder) { tasks(filter: $f, orderBy: $o) ` + item + ` }`,
			vars: `{"f": {"search": "2", "tags": ["a"]}, "o": {"field": "LABEL", "direction": "DESC"}}`, takes: true},
		{query: `query($s: String = "3") { tasks(filter: {search: $s}) ` + item + ` }`, takes: true},
		{query: page(""), takes: true},
		{query: page("(first: 5)"), takes: true},
		{query: page(`(first: 5, after: "` + mid + `")`), takes: true},
		{query: page(`(first: 4, after: "` + midLabel + `", orderBy: {field: LABEL, direction: DESC}, filter: {search: "1"})`), takes: true},
		{query: page(`(first: 3, filter: {tags: ["a"], source: "other"}, orderBy: {field: ID, direction: DESC})`), takes: true},
		{query: page(`(first: 0)`), takes: true},
		{query: page(`(first: 0, filter: {search: "1"})`), takes: true},
		{query: page(`(after: "` + end + `")`), takes: true},
		{query: page(`(filter: {search: "no such task"})`), takes: true},
		{query: page("(first: 5000)"), takes: true},
		{query: `query($n: Int, $a: String, $f: TaskFilter) { p: taskPage(first: $n, after: $a, filter: $f) { t: totalCount n: nodes { i: id } } }`,
			vars: `{"n": 2, "a": "` + mid + `", "f": {"anyVersion": false, "verdict": "NONE"}}`, takes: true},
		{query: `query($n: Int = 3) { taskPage(first: $n) { totalCount } }`, takes: true},
		{query: "{ taskPage { pageInfo { hasNextPage } } tasks { id } }", takes: true},
		// graphql-go's: its errors, and what Render does not write.
		{query: page(`(after: "nope")`), wantErr: "is not a cursor of this server"},
		{query: page(`(after: "` + mid + `", orderBy: {field: LABEL})`), wantErr: "a cursor of another orderBy"},
		{query: page("(first: -1)"), wantErr: "first must be 0 or more"},
		{query: `query($n: Int) { taskPage(first: $n) { totalCount } }`, vars: `{"n": "x"}`, wantErr: "Variable"},
		{query: `query($f: TaskFilter) { tasks(filter: $f) { id } }`, vars: `{"f": {"nope": 1}}`, wantErr: "nope"},
		{query: "{ tasks { id id label } tasks { id id label } }"},
		{query: "{ taskPage { nodes { id } } taskPage { nodes { label } } }"},
		{query: "{ taskPage { nodes { id } nodes { label } } }"},
		{query: "{ tasks { id verdict { status } } }"},
		{query: "{ tasks { ...F } } fragment F on Task { id }"},
		{query: "{ taskPage { ... on TaskPage { totalCount } } }"},
		{query: "{ tasks { id @include(if: true) } }"},
		{query: "{ tasks { id } registry { generation } }"},
		{query: "{ tasks { id script } }"},
	}
}

func (c renderCase) request(tb testing.TB) Request {
	tb.Helper()
	req := Request{Query: c.query}
	if c.vars != "" {
		if err := json.Unmarshal([]byte(c.vars), &req.Variables); err != nil {
			tb.Fatal(err)
		}
	}
	return req
}

// checkRender renders a case and compares it with graphql-go's answer.
func checkRender(t *testing.T, x *Executor, snap *registry.Snapshot, lists *ListCache, c renderCase, round string) {
	t.Helper()
	req := c.request(t)
	p, f := lists.Prepare(x, req)
	if f != nil {
		t.Fatalf("%s: %v", c.query, f.Errors)
	}
	parts, ok, err := x.Render(context.Background(), snap, p, req, lists)
	if err != nil || ok != c.takes {
		t.Errorf("%s (%s): got ok %v (%v), want %v", c.query, round, ok, err, c.takes)
		return
	}
	want := executed(t, x, snap, req, c.wantErr)
	if got := joinParts(parts); ok && !bytes.Equal(got, want) {
		t.Errorf("%s %s (%s):\ngot  %.900s\nwant %.900s", c.query, c.vars, round, got, want)
	}
}

// TestRenderIsExecute: every query that Render takes is answered byte for
// byte as graphql-go and encoding/json answer it (escapes, aliases, empty
// and missing tags, merged fields, every argument of tasks and taskPage
// as literals and variables, cursors, empty pages), and every query it
// should not take goes to graphql-go, bad arguments with their errors.
func TestRenderIsExecute(t *testing.T) {
	reg, _, _ := handFedCatalogue(t, 40)
	snap := reg.Snapshot()
	x := newExecutor(t)
	lists := NewListCache(1 << 20)
	cases := renderCases(t, x, snap)
	for _, round := range []string{"cold", "from what is kept"} {
		for _, c := range cases {
			checkRender(t, x, snap, lists, c, round)
		}
	}
}

// TestRenderAfterASave: after one task changes, one is added and one
// removed, every answer is the executor's; only the chunks that hold them
// are rendered again, and a filter is not applied to the whole catalogue
// again unless it selects by verdict.
func TestRenderAfterASave(t *testing.T) {
	const n = 5000
	reg, idx, make := handFedCatalogue(t, n)
	x := newExecutor(t)
	lists := NewListCache(64 << 20)
	const query = "{ tasks { id version label description availableVersions tags } }"
	p, _ := x.Prepare(Request{Query: query})
	plan, _ := planLists(p)
	all := func(snap *registry.Snapshot) chunkSource {
		q := listQuery{order: registry.ByID}
		return chunkSource{snap: snap, walk: q.walker(snap), dirty: q.dirty(snap)}
	}
	before, err := lists.chunks(context.Background(), "all", plan[0].item, all(reg.Snapshot()))
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 10 {
		t.Fatalf("got %d chunks for %d tasks, want about %d", len(before), n, n/chunkItems)
	}
	cases := renderCases(t, x, reg.Snapshot())
	for _, c := range cases {
		checkRender(t, x, reg.Snapshot(), lists, c, "cold")
	}
	scans := lists.scans.Load()

	reg.Apply(registry.Update{Source: idx, Results: []registry.RootResult{make(17, "Saved 1"), make(n+5, "Added 1")},
		Removed: []string{fmt.Sprintf("t%06d", 4000)}})
	snap := reg.Snapshot()
	after, err := lists.chunks(context.Background(), "all", plan[0].item, all(snap))
	if err != nil {
		t.Fatal(err)
	}
	old := map[*chunk]bool{}
	for _, c := range before {
		old[c] = true
	}
	fresh := 0
	for _, c := range after {
		if !old[c] {
			fresh++
		}
	}
	if fresh == 0 || fresh > 3 {
		t.Errorf("got %d of %d chunks rendered again, want 1 to 3", fresh, len(after))
	}
	for _, c := range cases {
		checkRender(t, x, snap, lists, c, "after a save")
	}
	// Each filter by verdict is applied again (verdicts change without a
	// save); no other is.
	verdictViews := 0
	lists.lru.Each(func(key string, _ any) bool {
		if strings.HasPrefix(key, "view\x00") && strings.Contains(key, "\x00NONE\x00") {
			verdictViews++
		}
		return true
	})
	if got := lists.scans.Load() - scans; got != int64(verdictViews) {
		t.Errorf("after a save, %d filters looked at every task; want %d (those by verdict)", got, verdictViews)
	}
}

// TestViewUpdateIsBuild: a filter's view brought up to date over saves,
// additions, removals and renames is the view built afresh, in every
// order, with each filter field.
func TestViewUpdateIsBuild(t *testing.T) {
	const n = 600
	reg, idx, task := handFedCatalogue(t, n)
	rng := rand.New(rand.NewPCG(1, 2))
	stale := true
	source := "other"
	queries := []listQuery{
		{filter: taskFilter{search: "1"}, order: registry.ByID},
		{filter: taskFilter{search: "task 2"}, order: registry.ByLabel},
		{filter: taskFilter{tags: []string{"a"}}, order: registry.ByUpdated},
		{filter: taskFilter{source: &source, anyVersion: true}, order: registry.ByLabel},
		{filter: taskFilter{stale: &stale}, order: registry.ByID},
	}
	views := make([]*view, len(queries))
	for i, q := range queries {
		views[i], _ = buildView(context.Background(), reg.Snapshot(), q)
	}
	for step := range 30 {
		var u registry.Update
		u.Source = idx
		for range rng.IntN(4) + 1 {
			i := rng.IntN(n + 50)
			if rng.IntN(4) == 0 {
				u.Removed = append(u.Removed, fmt.Sprintf("t%06d", i))
				continue
			}
			u.Results = append(u.Results, task(i, fmt.Sprintf("Task %d step %d", rng.IntN(n), step)))
		}
		prev := reg.Snapshot()
		reg.Apply(u)
		snap := reg.Snapshot()
		uuids, ok := snap.ChangedSince(prev)
		if !ok {
			t.Fatal("a small save was not listed")
		}
		for i, q := range queries {
			views[i] = views[i].update(snap, q, uuids)
			want, _ := buildView(context.Background(), snap, q)
			if got, want := viewList(views[i]), viewList(want); !slices.Equal(got, want) {
				t.Fatalf("step %d, filter %d: the updated view has %d tasks, the built one %d, or they differ", step, i, len(got), len(want))
			}
		}
	}
}

// TestRenderCountsTheAnswer: a rendered answer over max_answer_bytes is
// refused as the executor refuses it, and a list over the cache's budget
// is rendered and not kept.
func TestRenderCountsTheAnswer(t *testing.T) {
	reg, _, _ := handFedCatalogue(t, 300)
	x := newExecutor(t)
	x.Limits.MaxAnswerBytes = 4 << 10
	lists := NewListCache(1 << 10)
	req := Request{Query: "{ tasks { id label description } }"}
	p, _ := x.Prepare(req)
	_, ok, err := x.Render(context.Background(), reg.Snapshot(), p, req, lists)
	var tooLarge *AnswerTooLargeError
	if !ok || !errors.As(err, &tooLarge) {
		t.Errorf("got ok %v and %v, want an AnswerTooLargeError", ok, err)
	}
	if lists.Bytes() > 1<<10 {
		t.Errorf("the cache holds %d bytes in %d values, over its budget of 1 KiB", lists.Bytes(), lists.lru.Len())
	}
	lists.lru.Each(func(key string, _ any) bool {
		if strings.HasPrefix(key, "chunks\x00") {
			t.Errorf("a list over the budget was kept")
		}
		return true
	})
}

// viewList is what a view holds, in order.
func viewList(v *view) []string {
	var out []string
	v.walker(false)("", func(key string, e *registry.Entry) bool {
		out = append(out, key+"="+fmt.Sprintf("%p", e))
		return true
	})
	return out
}

func joinParts(parts []Part) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p.Bytes...)
	}
	return out
}

// TestRenderFollowsSaves: over a run of saves, additions and removals
// (labels that move tasks in the label order, tags that move them in and
// out of a filter), every list that Render answers after each step from
// what it kept is the executor's answer, in every order and direction.
func TestRenderFollowsSaves(t *testing.T) {
	const n = 2000
	reg, idx, task := handFedCatalogue(t, n)
	x := newExecutor(t)
	lists := NewListCache(64 << 20)
	queries := []string{
		"{ tasks { id label tags } }",
		"{ tasks(orderBy: {field: LABEL, direction: DESC}) { id label } }",
		"{ tasks(orderBy: {field: UPDATED, direction: DESC}) { id label } }",
		`{ tasks(filter: {tags: ["a"]}, orderBy: {field: LABEL}) { id label } }`,
		`{ tasks(filter: {search: "1"}, orderBy: {field: ID, direction: DESC}) { id label } }`,
		`{ taskPage(first: 300, filter: {search: "task"}, orderBy: {field: LABEL}) { nodes { id label } totalCount pageInfo { endCursor } } }`,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for step := range 25 {
		if step > 0 {
			u := registry.Update{Source: idx}
			for range rng.IntN(4) + 1 {
				i := rng.IntN(n + 100)
				if rng.IntN(5) == 0 {
					u.Removed = append(u.Removed, fmt.Sprintf("t%06d", i))
					continue
				}
				u.Results = append(u.Results, task(i+rng.IntN(3)*(n+100), fmt.Sprintf("Task %d", rng.IntN(3*n))))
			}
			reg.Apply(u)
		}
		snap := reg.Snapshot()
		for _, q := range queries {
			checkRender(t, x, snap, lists, renderCase{query: q, takes: true}, fmt.Sprintf("step %d", step))
		}
	}
}

// TestRenderConcurrently: requests share what ListCache keeps (prepared
// requests, plans, views, chunks) and graphql-go runs the shared syntax
// trees, while saves swap snapshots; under -race nothing is written that
// another reads, and every answer is the executor's.
func TestRenderConcurrently(t *testing.T) {
	reg, idx, task := handFedCatalogue(t, 600)
	x := newExecutor(t)
	lists := NewListCache(16 << 20)
	cases := renderCases(t, x, reg.Snapshot())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cases {
				c := cases[(i+g*7)%len(cases)]
				req := c.request(t)
				snap := reg.Snapshot()
				p, f := lists.Prepare(x, req)
				if f != nil {
					t.Error(f.Errors)
					return
				}
				parts, ok, err := x.Render(context.Background(), snap, p, req, lists)
				if err != nil || ok != c.takes {
					t.Errorf("%s: got ok %v (%v), want %v", c.query, ok, err, c.takes)
					continue
				}
				res, err := x.Execute(context.Background(), snap, p, req)
				if err != nil {
					t.Error(err)
					continue
				}
				want, _ := json.Marshal(res)
				if ok && !bytes.Equal(joinParts(parts), want) {
					t.Errorf("%s: rendered answer differs from the executor's", c.query)
				}
			}
		}()
	}
	for i := range 20 {
		reg.Apply(registry.Update{Source: idx, Results: []registry.RootResult{task(i*13, fmt.Sprintf("Saved %d", i))}})
	}
	wg.Wait()
}

// TestListCacheHoldsItsBudget: a flood of distinct queries, or of
// distinct filters that match nothing (each a view and a list of no
// chunks: values of no bytes), keeps the heap that ListCache holds within
// its budget, keys and bookkeeping counted.
func TestListCacheHoldsItsBudget(t *testing.T) {
	const budget = 256 << 10
	reg, _, _ := handFedCatalogue(t, 40)
	snap := reg.Snapshot()
	x := newExecutor(t)
	const query = "query($s: String) { tasks(filter: {search: $s}) { id } }"
	p, f := x.Prepare(Request{Query: query})
	if f != nil {
		t.Fatal(f.Errors)
	}
	for _, tc := range []struct {
		name string
		one  func(lists *ListCache, i int) error
	}{
		{"filters that match nothing", func(lists *ListCache, i int) error {
			req := Request{Query: query, Variables: map[string]any{"s": fmt.Sprintf("nothing matches %08d", i)}}
			if _, ok, err := x.Render(context.Background(), snap, p, req, lists); !ok || err != nil {
				return fmt.Errorf("got ok %v and %w", ok, err)
			}
			return nil
		}},
		{"queries", func(lists *ListCache, i int) error {
			if _, f := lists.Prepare(x, Request{Query: fmt.Sprintf("{ a%d: tasks { id } }", i)}); f != nil {
				return fmt.Errorf("%v", f.Errors)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			lists := NewListCache(budget)
			for i := range 20_000 {
				if err := tc.one(lists, i); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			if held > budget*5/4 || lists.Bytes() > budget {
				t.Errorf("the cache holds %d bytes of heap in %d values and counts %d, for a budget of %d", held, lists.lru.Len(), lists.Bytes(), budget)
			}
			t.Logf("%d bytes of heap held in %d values for a budget of %d", held, lists.lru.Len(), budget)
			runtime.KeepAlive(lists)
		})
	}
}
