package schema

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// syntheticSnapshot serves n copies of one real task, each its own uuid
// and label, applied as one update (building n folders would take
// minutes at 100,000 and measure the loader, not the page).
func syntheticSnapshot(tb testing.TB, n int) *registry.Snapshot {
	tb.Helper()
	base, ok := loaded(tb).Task("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "")
	if !ok {
		tb.Fatal("the test catalogue has no add task")
	}
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(handFed{})
	u := registry.Update{Source: idx, Complete: true}
	for i := range n {
		t := *base
		t.ID = fmt.Sprintf("%08x-0000-4000-8000-%012d", i*7919%n, i)
		t.Label = fmt.Sprintf("Task %06d", (i*104729)%n)
		t.Root = fmt.Sprintf("t%06d", i)
		u.Results = append(u.Results, registry.RootResult{Root: t.Root, Task: &t})
	}
	s, _ := reg.Apply(u)
	if s.TaskCount() != n {
		tb.Fatalf("got %d tasks, want %d", s.TaskCount(), n)
	}
	return s
}

var benchSnapshots = map[int]*registry.Snapshot{}

// BenchmarkTaskPage asks for a page of 50 in the middle of the catalogue,
// by label: its cost should not grow with the catalogue (compare the
// ns/op of 1000 and 100000 in the same run).
func BenchmarkTaskPage(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			snap, ok := benchSnapshots[n]
			if !ok { // built once for every -count: 100,000 take a while
				snap = syntheticSnapshot(b, n)
				benchSnapshots[n] = snap
			}
			x := newExecutor(b)
			q := `query($after: String) { taskPage(first: 50, after: $after, orderBy: {field: LABEL}) { nodes { id label version } pageInfo { endCursor hasNextPage } } }`
			after := listQuery{order: registry.ByLabel}.cursor(fmt.Sprintf("task %06d", n/2))
			req := Request{Query: q, Variables: map[string]any{"after": after}}
			p, f := x.Prepare(req)
			if f != nil {
				b.Fatal(f.Errors)
			}
			b.ResetTimer()
			for b.Loop() {
				res, err := x.Execute(context.Background(), snap, p, req)
				if err != nil || len(res.Errors) > 0 {
					b.Fatal(err, res.Errors)
				}
			}
		})
	}
}

// handFed names a source whose updates the benchmark applies by hand.
type handFed struct{}

func (handFed) Name() string                                                             { return "synthetic" }
func (handFed) Type() registry.SourceType                                                { return "filesystem" }
func (handFed) Location() string                                                         { return "synthetic" }
func (handFed) Run(context.Context, func(registry.Update), <-chan registry.Rescan) error { return nil }

// BenchmarkTaskPageWalk is the same page without graphql-go: the index
// walk alone, which is what grows (or not) with the catalogue.
func BenchmarkTaskPageWalk(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			snap, ok := benchSnapshots[n]
			if !ok {
				snap = syntheticSnapshot(b, n)
				benchSnapshots[n] = snap
			}
			after := fmt.Sprintf("task %06d", n/2)
			for b.Loop() {
				got := 0
				snap.Walk(registry.ByLabel, false, after, func(string, *registry.Entry) bool { got++; return got <= 50 })
			}
		})
	}
}
