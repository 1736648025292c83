package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/fssource"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

// catalogue is a real registry over task folders that a test writes.
type catalogue struct {
	tb  testing.TB
	dir string
	reg *registry.Registry
	src *fssource.Source
	svc *registry.Service // runs src on reg from the first rescan
}

func newCatalogue(tb testing.TB) *catalogue {
	tb.Helper()
	c := &catalogue{tb: tb, dir: tb.TempDir(), reg: registry.New(time.Now, nil)}
	c.src = fsSource(tb, "tasks", c.dir)
	return c
}

// uuidOf makes a stable uuid from a number.
func uuidOf(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// write saves task n with a label, a description and tags.
func (c *catalogue) write(n int, label, desc string, tags ...string) {
	c.tb.Helper()
	dir := filepath.Join(c.dir, fmt.Sprintf("t%05d", n))
	meta, _ := json.Marshal(map[string]any{"uuid": uuidOf(n), "version": "1.0.0", "label": label, "description": desc, "tags": tags})
	files := map[string]string{
		"metadata.json":      string(meta),
		"input.schema.json":  `{"type": "object"}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            "(function(input) { return input; })",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.tb.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			c.tb.Fatal(err)
		}
	}
}

func (c *catalogue) remove(n int) {
	c.tb.Helper()
	if err := os.RemoveAll(filepath.Join(c.dir, fmt.Sprintf("t%05d", n))); err != nil {
		c.tb.Fatal(err)
	}
}

// rescan loads what is on disk now and returns the snapshot.
func (c *catalogue) rescan() *registry.Snapshot {
	c.tb.Helper()
	if c.svc == nil {
		c.svc = sourcetest.Serve(c.tb, c.reg, c.src)
	}
	if _, err := c.svc.Rescan(context.Background()); err != nil {
		c.tb.Fatal(err)
	}
	return c.reg.Snapshot()
}

// answer executes a query and decodes its data; errors fail the test unless
// wantErr is part of one.
func answer(tb testing.TB, x *Executor, snap *registry.Snapshot, q string, vars map[string]any, wantErr string) map[string]any {
	tb.Helper()
	b, _ := json.Marshal(vars) // as a client sends them: a nil map is null
	vars = nil
	_ = json.Unmarshal(b, &vars)
	p, f := x.Prepare(Request{Query: q, Variables: vars})
	if f != nil {
		tb.Fatalf("prepare %s: %v", q, f.Errors)
	}
	res, err := x.Execute(context.Background(), snap, p, Request{Query: q, Variables: vars})
	if err != nil {
		tb.Fatal(err)
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Message)
	}
	if got := strings.Join(msgs, "; "); (wantErr == "" && got != "") || !strings.Contains(got, wantErr) {
		tb.Fatalf("%s: got errors %q, want %q", q, got, wantErr)
	}
	b, _ = json.Marshal(res.Data)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

const pageQuery = `query($after: String, $order: TaskOrder, $filter: TaskFilter, $first: Int) {
  taskPage(first: $first, after: $after, orderBy: $order, filter: $filter) { nodes { id label } totalCount pageInfo { hasNextPage endCursor } } }`

// TestTaskPageWhileSaving walks the pages while tasks are added, removed
// and edited between them: every task that existed throughout is seen
// exactly once, in order.
func TestTaskPageWhileSaving(t *testing.T) {
	orders := []struct {
		name  string
		order map[string]any
	}{
		{"default", nil},
		{"id desc", map[string]any{"field": "ID", "direction": "DESC"}},
		{"label", map[string]any{"field": "LABEL"}},
		{"label desc", map[string]any{"field": "LABEL", "direction": "DESC"}},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			c := newCatalogue(t)
			const kept = 40
			for i := range kept {
				c.write(i, fmt.Sprintf("Task %c%02d", 'a'+(i*7)%26, i), "kept")
			}
			snap := c.rescan()
			x := newExecutor(t)
			seen := map[string]int{}
			var labels []string
			after := any(nil)
			for page := 0; ; page++ {
				data := answer(t, x, snap, pageQuery, map[string]any{"after": after, "order": o.order, "first": float64(6)}, "")
				tp := data["taskPage"].(map[string]any)
				for _, n := range tp["nodes"].([]any) {
					node := n.(map[string]any)
					seen[node["id"].(string)]++
					labels = append(labels, strings.ToLower(node["label"].(string)))
				}
				info := tp["pageInfo"].(map[string]any)
				if info["hasNextPage"] != true {
					break
				}
				after = info["endCursor"]
				// Between pages: a new task, one of the new ones gone, a
				// kept one edited.
				c.write(1000+page, fmt.Sprintf("Task %c new", 'a'+page%26), "new")
				if page > 0 {
					c.remove(1000 + page - 1)
				}
				c.write(page%kept, fmt.Sprintf("Task %c%02d", 'a'+(page%kept*7)%26, page%kept), "edited")
				snap = c.rescan()
			}
			for i := range kept {
				if n := seen[uuidOf(i)]; n != 1 {
					t.Errorf("task %d seen %d times, want once", i, n)
				}
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("%s seen %d times", id, n)
				}
			}
			if o.order != nil && o.order["field"] == "LABEL" {
				want := slices.Clone(labels)
				slices.Sort(want)
				if o.order["direction"] == "DESC" {
					slices.Reverse(want)
				}
				if !slices.Equal(labels, want) {
					t.Errorf("got labels in the order %v, want %v", labels, want)
				}
			}
		})
	}
}

func TestTaskFilters(t *testing.T) {
	c := newCatalogue(t)
	c.write(1, "Add numbers", "Sums a and b.", "math", "basic")
	c.write(2, "Greet", "Says HELLO to someone.", "text")
	c.write(3, "Uppercase", "Upper-cases text.", "text", "basic")
	snap := c.rescan()
	x := newExecutor(t)
	tests := []struct {
		name   string
		filter map[string]any
		order  map[string]any
		want   []string
	}{
		{"none", nil, nil, []string{"Add numbers", "Greet", "Uppercase"}},
		{"search label", map[string]any{"search": "GREET"}, nil, []string{"Greet"}},
		{"search description", map[string]any{"search": "hello"}, nil, []string{"Greet"}},
		{"search id", map[string]any{"search": uuidOf(3)[24:]}, nil, []string{"Uppercase"}},
		{"one tag", map[string]any{"tags": []any{"text"}}, nil, []string{"Greet", "Uppercase"}},
		{"every tag", map[string]any{"tags": []any{"text", "basic"}}, nil, []string{"Uppercase"}},
		{"unknown tag", map[string]any{"tags": []any{"nope"}}, nil, []string{}},
		{"source", map[string]any{"source": "tasks"}, nil, []string{"Add numbers", "Greet", "Uppercase"}},
		{"other source", map[string]any{"source": "other"}, nil, []string{}},
		{"stale", map[string]any{"stale": true}, nil, []string{}},
		{"not stale", map[string]any{"stale": false, "search": "e"}, nil, []string{"Add numbers", "Greet", "Uppercase"}},
		{"verdict none", map[string]any{"verdict": "NONE"}, nil, []string{"Add numbers", "Greet", "Uppercase"}},
		{"verdict passed", map[string]any{"verdict": "PASSED"}, nil, []string{}},
		{"label desc", nil, map[string]any{"field": "LABEL", "direction": "DESC"}, []string{"Uppercase", "Greet", "Add numbers"}},
		{"filtered and ordered", map[string]any{"tags": []any{"basic"}}, map[string]any{"field": "LABEL", "direction": "DESC"}, []string{"Uppercase", "Add numbers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]any{"filter": tc.filter, "order": tc.order}
			data := answer(t, x, snap, `query($filter: TaskFilter, $order: TaskOrder) { tasks(filter: $filter, orderBy: $order) { label tags } }`, vars, "")
			got := []string{}
			for _, n := range data["tasks"].([]any) {
				got = append(got, n.(map[string]any)["label"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("tasks: got %v, want %v", got, tc.want)
			}
			data = answer(t, x, snap, pageQuery, vars, "")
			if total := data["taskPage"].(map[string]any)["totalCount"]; total != float64(len(tc.want)) {
				t.Errorf("totalCount: got %v, want %d", total, len(tc.want))
			}
		})
	}
	data := answer(t, x, snap, `{ task(id: "`+uuidOf(1)+`") { tags } }`, nil, "")
	if got := fmt.Sprint(data["task"].(map[string]any)["tags"]); got != "[math basic]" {
		t.Errorf("tags: got %s, want [math basic]", got)
	}
}

func TestTaskPageArguments(t *testing.T) {
	c := newCatalogue(t)
	for i := range maxPage + 5 {
		c.write(i, fmt.Sprintf("Task %d", i), "")
	}
	snap := c.rescan()
	x := newExecutor(t)
	tests := []struct {
		name      string
		vars      map[string]any
		wantNodes int
		wantNext  bool
		wantErr   string
	}{
		{"default size", nil, defaultPage, true, ""},
		{"capped", map[string]any{"first": float64(5000)}, maxPage, true, ""},
		{"none", map[string]any{"first": float64(0)}, 0, true, ""},
		{"negative", map[string]any{"first": float64(-1)}, 0, false, "first must be 0 or more"},
		{"not a cursor", map[string]any{"after": "nope"}, 0, false, "not a cursor of this server"},
		{"a cursor of another order", map[string]any{"after": listQuery{order: registry.ByLabel}.cursor("x"), "first": float64(1)}, 0, false, "another orderBy"},
		{"past the end", map[string]any{"after": listQuery{}.cursor("ffffffff")}, 0, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := answer(t, x, snap, pageQuery, tc.vars, tc.wantErr)
			if tc.wantErr != "" {
				return
			}
			tp := data["taskPage"].(map[string]any)
			nodes := tp["nodes"].([]any)
			info := tp["pageInfo"].(map[string]any)
			if len(nodes) != tc.wantNodes || info["hasNextPage"] != tc.wantNext || tp["totalCount"] != float64(maxPage+5) {
				t.Errorf("got %d nodes, hasNextPage %v, totalCount %v; want %d, %v, %d", len(nodes), info["hasNextPage"], tp["totalCount"], tc.wantNodes, tc.wantNext, maxPage+5)
			}
			// Whatever the page, endCursor is where to go on from.
			end, ok := info["endCursor"].(string)
			if !ok {
				t.Fatalf("got endCursor %v with hasNextPage %v, want a cursor to go on from", info["endCursor"], info["hasNextPage"])
			}
			next := answer(t, x, snap, pageQuery, map[string]any{"after": end, "first": float64(1)}, "")["taskPage"].(map[string]any)
			if n := len(next["nodes"].([]any)); (n == 1) != info["hasNextPage"] {
				t.Errorf("the page after endCursor has %d nodes, with hasNextPage %v", n, info["hasNextPage"])
			}
		})
	}
}

// TestAnyVersionFilter: hello 0.2.0 fails while 0.3.0 passes. The filter
// by default asks of the latest version, which passes; with anyVersion it
// finds the task, whose versions show which one fails.
func TestAnyVersionFilter(t *testing.T) {
	c := newCatalogue(t)
	for _, v := range []string{"0.2.0", "0.3.0"} {
		dir := filepath.Join(c.dir, "hello-"+v)
		files := map[string]string{
			"metadata.json":      `{"uuid": "` + uuidOf(1) + `", "version": "` + v + `", "label": "hello"}`,
			"input.schema.json":  `{"type": "object"}`,
			"output.schema.json": `{"type": "object"}`,
			"main.js":            "(function(input) { return input; })",
			"tests/echo.json":    `{"input": {}, "expected_output": {}}`,
		}
		for name, body := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.write(2, "other", "")
	snap := c.rescan()
	for v, status := range map[string]registry.VerdictStatus{"0.2.0": registry.VerdictFailed, "0.3.0": registry.VerdictPassed} {
		task, _ := snap.Task(uuidOf(1), v)
		if !c.reg.SetVerdict(task, &registry.Verdict{Digest: task.TestDigest, Status: status}) {
			t.Fatalf("verdict of %s not taken", v)
		}
	}
	snap = c.reg.Snapshot()
	x := newExecutor(t)
	q := `query($filter: TaskFilter) { tasks(filter: $filter) { version versions { version verdict { status } } } }`
	tests := []struct {
		name   string
		filter map[string]any
		want   string
	}{
		{"latest, by default", map[string]any{"verdict": "FAILED"}, `[]`},
		{"latest, said", map[string]any{"verdict": "FAILED", "anyVersion": false}, `[]`},
		{"any version", map[string]any{"verdict": "FAILED", "anyVersion": true},
			`[{"version":"0.3.0","versions":[{"verdict":{"status":"FAILED"},"version":"0.2.0"},{"verdict":{"status":"PASSED"},"version":"0.3.0"}]}]`},
		{"any version, passed", map[string]any{"verdict": "PASSED", "anyVersion": true},
			`[{"version":"0.3.0","versions":[{"verdict":{"status":"FAILED"},"version":"0.2.0"},{"verdict":{"status":"PASSED"},"version":"0.3.0"}]}]`},
		{"any version, alone, is every task", map[string]any{"anyVersion": true}, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := answer(t, x, snap, q, map[string]any{"filter": tc.filter}, "")
			b, _ := json.Marshal(data["tasks"])
			if tc.want == "" {
				if n := len(data["tasks"].([]any)); n != 2 {
					t.Errorf("got %d tasks, want 2", n)
				}
				return
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
			page := answer(t, x, snap, pageQuery, map[string]any{"filter": tc.filter}, "")["taskPage"].(map[string]any)
			if n := len(page["nodes"].([]any)); float64(n) != page["totalCount"] {
				t.Errorf("taskPage: %d nodes, totalCount %v", n, page["totalCount"])
			}
		})
	}
}

// TestSourceCountsServed: a source's task count is what it serves; a copy
// that loses a conflict is listed as a conflict, not counted again.
func TestSourceCountsServed(t *testing.T) {
	c := newCatalogue(t)
	c.write(1, "Add", "")
	c.write(2, "Greet", "")
	// A copy of task 1 under another folder: same uuid, same version.
	if err := os.CopyFS(filepath.Join(c.dir, "t00001-copy"), os.DirFS(filepath.Join(c.dir, "t00001"))); err != nil {
		t.Fatal(err)
	}
	snap := c.rescan()
	data := answer(t, newExecutor(t), snap, `{ sources { name taskCount } conflicts { path } }`, nil, "")
	b, _ := json.Marshal(data)
	got := strings.ReplaceAll(string(b), c.dir+string(filepath.Separator), "")
	if want := `{"conflicts":[{"path":"t00001-copy"}],"sources":[{"name":"tasks","taskCount":2}]}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestContainsLower: the search filter's match is strings.ToLower and
// strings.Contains, ASCII or not.
func TestContainsLower(t *testing.T) {
	for _, s := range []string{"", "Add Two Numbers", "aDD", "ÜBER upper", "\u212a kelvin", "İstanbul", "\xff bad", "abcabd", "ABCABD"} {
		for _, query := range []string{"", "add", "two n", "über", "k", "i̇", "abd", "bca", "x", "\xff"} {
			sub := strings.ToLower(query)
			if got, want := containsLower(s, sub), strings.Contains(strings.ToLower(s), sub); got != want {
				t.Errorf("containsLower(%q, %q): got %t, want %t", s, sub, got, want)
			}
		}
	}
}
