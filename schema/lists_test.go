package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// writes it when Render declines.
func executed(tb testing.TB, x *Executor, snap *registry.Snapshot, query string) []byte {
	tb.Helper()
	req := Request{Query: query}
	p, f := x.Prepare(req)
	if f != nil {
		tb.Fatal(f.Errors)
	}
	res, err := x.Execute(context.Background(), snap, p, req)
	if err != nil || len(res.Errors) > 0 {
		tb.Fatal(err, res.Errors)
	}
	b, err := json.Marshal(res)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestRenderIsExecute: every query that Render takes is answered byte for
// byte as graphql-go and encoding/json answer it, escapes, aliases, empty
// and missing tags and merged fields included, and every query it should
// not take goes to graphql-go.
func TestRenderIsExecute(t *testing.T) {
	reg, _, _ := handFedCatalogue(t, 40)
	snap := reg.Snapshot()
	x := newExecutor(t)
	lists := NewListCache(1 << 20)
	for _, tc := range []struct {
		query string
		takes bool
	}{
		{"{ tasks { id version label description availableVersions } }", true},
		{"{ tasks { id tags stale source path digest __typename } }", true},
		{"query Poll { b: tasks { label id: id } a: tasks { z: id a: label } __typename }", true},
		{"{ tasks { id id label } tasks { id id label } }", false},
		{"{ tasks { id verdict { status } } }", false},
		{`{ tasks(filter: {search: "x"}) { id } }`, false},
		{"{ tasks { ...F } } fragment F on Task { id }", false},
		{"{ tasks { id @include(if: true) } }", false},
		{"{ tasks { id } registry { generation } }", false},
		{"{ tasks { id script } }", false},
	} {
		req := Request{Query: tc.query}
		p, f := x.Prepare(req)
		if f != nil {
			t.Fatalf("%s: %v", tc.query, f.Errors)
		}
		for round := range 2 { // cold, then from the cached chunks
			parts, ok, err := x.Render(context.Background(), snap, p, lists)
			got := bytes.Join(parts, nil)
			if err != nil || ok != tc.takes {
				t.Errorf("%s: got ok %v (%v), want %v", tc.query, ok, err, tc.takes)
				continue
			}
			if !ok {
				break
			}
			if want := executed(t, x, snap, tc.query); string(got) != string(want) {
				t.Errorf("%s (round %d):\ngot  %.600s\nwant %.600s", tc.query, round, got, want)
			}
		}
	}
}

// TestRenderAfterASave: after one task changes, one task is added and one
// removed, the answer is the executor's, and only the chunks that hold
// them are rendered again.
func TestRenderAfterASave(t *testing.T) {
	const n = 5000
	reg, idx, make := handFedCatalogue(t, n)
	x := newExecutor(t)
	lists := NewListCache(64 << 20)
	const query = "{ tasks { id version label description availableVersions tags } }"
	p, _ := x.Prepare(Request{Query: query})
	item, _ := planList(p)
	before, err := lists.render(context.Background(), reg.Snapshot(), item[0].item)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 10 {
		t.Fatalf("got %d chunks for %d tasks, want about %d", len(before), n, n/chunkItems)
	}
	reg.Apply(registry.Update{Source: idx, Results: []registry.RootResult{make(17, "Saved"), make(n+5, "Added")},
		Removed: []string{fmt.Sprintf("t%06d", 4000)}})
	snap := reg.Snapshot()
	after, err := lists.render(context.Background(), snap, item[0].item)
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
	parts, ok, err := x.Render(context.Background(), snap, p, lists)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	got := bytes.Join(parts, nil)
	if want := executed(t, x, snap, query); string(got) != string(want) {
		t.Errorf("after the save the answer differs from the executor's")
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
	_, ok, err := x.Render(context.Background(), reg.Snapshot(), p, lists)
	var tooLarge *AnswerTooLargeError
	if !ok || !errors.As(err, &tooLarge) {
		t.Errorf("got ok %v and %v, want an AnswerTooLargeError", ok, err)
	}
	if lists.bytes != 0 || lists.lru.Len() != 0 {
		t.Errorf("the cache holds %d bytes in %d lists, over its budget of 1 KiB", lists.bytes, lists.lru.Len())
	}
}
