package schema

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/fssource"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// loaded is a real registry over the test catalogue.
func loaded(tb testing.TB) *registry.Snapshot {
	tb.Helper()
	reg := registry.New(time.Now, nil)
	if err := registry.LoadOnce(context.Background(), reg, fsSource(tb, "catalogue", "../testdata/catalogue")); err != nil {
		tb.Fatal(err)
	}
	if s := reg.Snapshot(); s.TaskCount() == 0 {
		tb.Fatal("the test catalogue loaded no task")
	}
	return reg.Snapshot()
}

// fsSource is an unwatched filesystem source: tests load it by hand.
func fsSource(tb testing.TB, name, dir string) *fssource.Source {
	tb.Helper()
	src, err := fssource.New(fssource.Config{Name: name, Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}}, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

func readQuery(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// statusPage is the query of the web page (httpapi/web/app.js).
const statusPage = `{ registry { generation taskCount versionCount loadedAt }
 tasks { id version label description availableVersions source path stale error { path line column message } }
 loadErrors { source path line column kind message }
 conflicts { id version path winner }
 sources { name type location status error taskCount loadedAt } }`

// pages is k aliases of one selection, without the braces of an operation.
func pages(k int, sel string) string {
	var b strings.Builder
	for i := range k {
		b.WriteString(" p" + itoa(i) + ": " + sel)
	}
	return b.String()
}

func TestCost(t *testing.T) {
	x := newExecutor(t)
	snap := loaded(t)
	n := snap.TaskCount()
	aliases := func(k int, sel string) string { return "{" + pages(k, sel) + " }" }
	tests := []struct {
		name     string
		query    string
		vars     map[string]any
		want     int // exact cost, or 0 to check only the bounds
		atLeast  int
		admitted bool
	}{
		{"one field", "{ registry { generation } }", nil, 2, 0, true},
		{"a list multiplies", "{ tasks { id label } }", nil, 1 + 2*n, 0, true},
		{"aliases count again", aliases(3, "tasks { id }"), nil, 3 * (1 + n), 0, true},
		{"fragments count where spread", "{ tasks { ...F } b: tasks { ...F } } fragment F on Task { id version }", nil, 2 * (1 + 2*n), 0, true},
		{"a page costs its size", "{ taskPage(first: 10) { nodes { id } totalCount } }", nil, 1 + (1 + 10) + 1, 0, true},
		{"a page size from a variable", "query($n: Int) { taskPage(first: $n) { nodes { id } } }", map[string]any{"n": float64(7)}, 1 + 1 + 7, 0, true},
		{"a page size from a variable's default", "query Q($n: Int = 1000) { taskPage(first: $n) { nodes { id } } }", nil, 1 + 1 + 1000, 0, true},
		{"a sent variable beats its default", "query Q($n: Int = 1000) { taskPage(first: $n) { nodes { id } } }", map[string]any{"n": float64(3)}, 1 + 1 + 3, 0, true},
		{"a fragment costs the page it is spread under", "{ z: taskPage(first: 0) { ...F } a: taskPage(first: 1000) { ...F } } fragment F on TaskPage { nodes { id } }", nil, (1 + 1) + (1 + 1 + 1000), 0, true},
		{"an empty page first does not make a fragment cheap", "{ z: taskPage(first: 0) { ...F }" + pages(420, "taskPage(first: 1000) { ...F }") + " } fragment F on TaskPage { nodes { id version label description source path stale digest metadata inputSchema outputSchema script } }", nil, 0, DefaultLimits().MaxCost + 1, false},
		{"a page is capped", "{ taskPage(first: 100000) { nodes { id } } }", nil, 1 + 1 + maxPage, 0, true},
		{"the status page", statusPage, nil, 0, 0, true},
		{"GraphiQL's introspection", readQuery(t, "introspection.graphql"), nil, 0, 0, true},
		{"alias fan-out", aliases(240, "tasks { id label description }"), nil, 240 * (1 + 3*n), 0, true}, // 960 selections, within MaxSelections
		{"introspection fan-out", aliases(100, "__schema { types { fields { type { fields { type { fields { name } } } } } } }"), nil, 0, DefaultLimits().MaxCost + 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, f := x.Prepare(Request{Query: tc.query, Variables: tc.vars})
			if f != nil {
				t.Fatalf("prepare: %v", f.Errors)
			}
			got := x.Cost(snap, p, tc.vars)
			if tc.want != 0 && got != tc.want {
				t.Errorf("got cost %d, want %d", got, tc.want)
			}
			if got < tc.atLeast {
				t.Errorf("got cost %d, want at least %d", got, tc.atLeast)
			}
			fail := x.Admit(snap, p, Request{Query: tc.query, Variables: tc.vars})
			if admitted := fail == nil; admitted != tc.admitted {
				t.Fatalf("cost %d: got admitted %v, want %v", got, admitted, tc.admitted)
			}
			if fail != nil && !strings.Contains(fail.Errors[0].Message, "server.max_cost") {
				t.Errorf("got %q, want the refusal to name server.max_cost", fail.Errors[0].Message)
			}
			t.Logf("cost %d", got)
		})
	}
}

// TestStatusPageAtScale: the status page's query over 100,000 tasks (its
// cost grows with the task count alone) stays under the default limit.
func TestStatusPageAtScale(t *testing.T) {
	x := newExecutor(t)
	snap := loaded(t)
	p, _ := x.Prepare(Request{Query: statusPage})
	fixed := x.Cost(registry.New(time.Now, nil).Snapshot(), p, nil)
	perTask := (x.Cost(snap, p, nil) - fixed) / snap.TaskCount()
	if at := fixed + perTask*100_000; at > DefaultLimits().MaxCost {
		t.Errorf("the status page would cost %d at 100,000 tasks, over the default limit %d", at, DefaultLimits().MaxCost)
	}
}
