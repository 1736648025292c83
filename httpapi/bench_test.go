package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tasksQuery = "{ tasks { id version label description availableVersions } }"

// benchCatalogue writes n copies of examples/add, each its own task.
func benchCatalogue(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	src := "../examples/add"
	for i := range n {
		dst := filepath.Join(dir, fmt.Sprintf("t%05d", i))
		copyDir(b, src, dst)
		meta := fmt.Sprintf(`{"uuid": "%08x-0000-4000-8000-000000000000", "version": "1.%d.0", "label": "Task %d", "description": "generated"}`, i, i%3, i)
		if err := os.WriteFile(filepath.Join(dst, "metadata.json"), []byte(meta), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkTasksQuery is the tasks query through the whole HTTP handler,
// sent again and again over one snapshot, as a dashboard polls.
func BenchmarkTasksQuery(b *testing.B) { benchQuery(b, false) }

// BenchmarkTasksQueryUncached makes every request new to the answer cache,
// so each runs graphql-go's executor: the cost of the first poll after a
// change.
func BenchmarkTasksQueryUncached(b *testing.B) { benchQuery(b, true) }

func benchQuery(b *testing.B, fresh bool) {
	ts := newTestServer(b, benchCatalogue(b, 1000))
	h := ts.Config.Handler
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		q := tasksQuery
		if fresh {
			q = fmt.Sprintf("{ tasks { id version label description availableVersions } n%d: __typename }", i)
		}
		body := `{"query": "` + q + `"}`
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "http://127.0.0.1/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("got %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkTasksQueryETag is a poll of an unchanged catalogue: a 304.
func BenchmarkTasksQueryETag(b *testing.B) {
	ts := newTestServer(b, benchCatalogue(b, 1000))
	h := ts.Config.Handler
	u := "http://127.0.0.1/graphql?query=" + strings.ReplaceAll(tasksQuery, " ", "%20")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
	etag := rec.Header().Get("ETag")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", u, nil)
		req.Header.Set("If-None-Match", etag)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			b.Fatalf("got %d", rec.Code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkTasksMarshal is the baseline: the same fields of the same
// snapshot, written with encoding/json and nothing else.
func BenchmarkTasksMarshal(b *testing.B) {
	ts := newTestServer(b, benchCatalogue(b, 1000))
	type task struct {
		ID                string   `json:"id"`
		Version           string   `json:"version"`
		Label             string   `json:"label"`
		Description       string   `json:"description"`
		AvailableVersions []string `json:"availableVersions"`
	}
	b.ReportAllocs()
	for b.Loop() {
		snap := ts.reg.Snapshot()
		var out []task
		for _, t := range snap.Latest() {
			out = append(out, task{t.ID, t.Version, t.Label, t.Description, snap.Versions(t.ID)})
		}
		rec := httptest.NewRecorder()
		if err := json.NewEncoder(rec).Encode(map[string]any{"data": map[string]any{"tasks": out}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
