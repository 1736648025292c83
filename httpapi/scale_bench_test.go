package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// handFed names a source whose updates a benchmark applies by hand.
type handFed struct{}

func (handFed) Name() string                                                             { return "synthetic" }
func (handFed) Type() registry.SourceType                                                { return "filesystem" }
func (handFed) Location() string                                                         { return "synthetic" }
func (handFed) Run(context.Context, func(registry.Update), <-chan registry.Rescan) error { return nil }

// syntheticRegistry serves n copies of the catalogue's add task, each its
// own uuid and label, applied as one update: writing 100,000 folders would
// measure the loader. save(i, label) is the update of one save of task i.
func syntheticRegistry(tb testing.TB, n int) (*testServer, func(i int, label string) registry.Update) {
	tb.Helper()
	ts := loadedRegistry(tb, catalogue)
	base, ok := ts.reg.Snapshot().Task("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "")
	if !ok {
		tb.Fatal("the test catalogue has no add task")
	}
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(handFed{})
	root := func(i int, label string) registry.RootResult {
		t := *base
		t.ID = fmt.Sprintf("%08x-0000-4000-8000-%012d", i*7919%n, i)
		t.Label, t.Root = label, fmt.Sprintf("t%06d", i)
		t.Description = "Adds two numbers; generated task " + fmt.Sprint(i)
		t.Digest = fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(label+t.ID))) // a save is a new digest
		return registry.RootResult{Root: t.Root, Task: &t}
	}
	u := registry.Update{Source: idx, Complete: true}
	for i := range n {
		u.Results = append(u.Results, root(i, fmt.Sprintf("Task %06d", i)))
	}
	reg.Apply(u)
	ts.reg = reg
	return ts, func(i int, label string) registry.Update {
		return registry.Update{Source: idx, Results: []registry.RootResult{root(i, label)}}
	}
}

func serve(ts *testServer) *Server {
	return New(Config{Registry: ts.reg, Log: slog.New(slog.DiscardHandler), Content: taskformat.NewContent(0), Executor: ts.exec})
}

// pollIn GETs query as a dashboard does, in the content coding given
// ("" for none), and returns the answer's size. The answer is counted,
// not kept: a recorder's growing buffer would cost more than the answer.
func pollIn(tb testing.TB, h http.Handler, query, coding string) int {
	w := &countingWriter{header: http.Header{}}
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/graphql?query="+url.QueryEscape(query), nil)
	if coding != "" {
		req.Header.Set("Accept-Encoding", coding)
	}
	h.ServeHTTP(w, req)
	if w.status != http.StatusOK {
		tb.Fatalf("got %d", w.status)
	}
	return w.n
}

type countingWriter struct {
	header http.Header
	status int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	return len(b), nil
}

// BenchmarkAnswerAfterSave is the first poll of a query after one task was
// saved, against its cold time (a new server, nothing cached) in the same
// run: after-save/cold is the share of a cold answer that a save costs.
// The -zstd and -gzip runs ask for the answer compressed.
func BenchmarkAnswerAfterSave(b *testing.B) {
	queries := []struct{ name, query, coding string }{
		{"tasks", tasksQuery, ""},
		{"tasks-zstd", tasksQuery, "zstd"},
		{"tasks-gzip", tasksQuery, "gzip"},
		{"taskPage", `{ taskPage(first: 50, orderBy: {field: LABEL}) { nodes { id label version } pageInfo { endCursor hasNextPage } } }`, ""},
		{"filtered", `{ tasks(filter: {search: "task 00"}) { id version label } }`, ""},
		{"filteredPage", `{ taskPage(first: 50, filter: {search: "task 00"}) { nodes { id label version } totalCount pageInfo { endCursor hasNextPage } } }`, ""},
	}
	saves := 0 // across sub-benchmarks: a save applied before would change nothing
	for _, n := range []int{1_000, 100_000} {
		ts, save := syntheticRegistry(b, n)
		ts.exec.Limits.MaxCost = 0
		for _, q := range queries {
			b.Run(fmt.Sprintf("%s/%d", q.name, n), func(b *testing.B) {
				const colds = 3
				var cold time.Duration
				for range colds {
					h := serve(ts)
					runtime.GC()
					start := time.Now()
					pollIn(b, h, q.query, q.coding)
					cold += time.Since(start) / colds
				}
				h := serve(ts)
				size := pollIn(b, h, q.query, q.coding)
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					saves++
					ts.reg.Apply(save(saves%n, fmt.Sprintf("Saved %d", saves)))
					runtime.GC() // the save's garbage is the loader's cost, not the answer's
					b.StartTimer()
					pollIn(b, h, q.query, q.coding)
				}
				perOp := b.Elapsed() / time.Duration(b.N)
				// The floor under a small answer: every request after a
				// forced collection of this heap pays to refill the
				// allocator's caches, whatever it does.
				runtime.GC()
				start := time.Now()
				w := &countingWriter{header: http.Header{}}
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/healthz", nil))
				b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "healthz-after-gc-ms")
				b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
				b.ReportMetric(float64(perOp)/float64(cold), "after-save/cold")
				b.ReportMetric(float64(size), "answer-bytes")
				b.ReportMetric(testutil.ToFloat64(h.gql.cache.misses)/float64(b.N+1), "misses/op")
			})
		}
	}
}

// BenchmarkFirstTasksAnswer is the first answer of `tasks` over 1,000
// tasks, nothing of it cached (each request selects availableVersions
// under a new alias), against encoding/json writing the same data in the
// same run: x-marshal is how many times json.Marshal it costs.
func BenchmarkFirstTasksAnswer(b *testing.B) {
	ts, _ := syntheticRegistry(b, 1000)
	h := serve(ts)
	type task struct {
		ID                string   `json:"id"`
		Version           string   `json:"version"`
		Label             string   `json:"label"`
		Description       string   `json:"description"`
		AvailableVersions []string `json:"availableVersions"`
	}
	marshal := func() {
		snap := ts.reg.Snapshot()
		out := make([]task, 0, snap.TaskCount())
		for _, t := range snap.Latest() {
			out = append(out, task{t.ID, t.Version, t.Label, t.Description, snap.Versions(t.ID)})
		}
		if _, err := json.Marshal(map[string]any{"data": map[string]any{"tasks": out}}); err != nil {
			b.Fatal(err)
		}
	}
	const rounds = 200
	start := time.Now()
	for range rounds {
		marshal()
	}
	base := time.Since(start) / rounds
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		i++
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/graphql?query="+
			url.QueryEscape(fmt.Sprintf("{ tasks { id version label description v%d: availableVersions } }", i)), nil)
		req.Header.Set("Accept-Encoding", "identity")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("got %d", rec.Code)
		}
	}
	b.ReportMetric(float64(base.Microseconds())/1000, "marshal-ms")
	b.ReportMetric(float64(b.Elapsed()/time.Duration(b.N))/float64(base), "x-marshal")
}
