package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/fssource"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

const catalogue = "../testdata/catalogue"

type testServer struct {
	*httptest.Server
	reg  *registry.Registry
	feed *registry.Feed
	svc  *registry.Service // runs the catalogue's source, unwatched: tests rescan it by hand
	idx  int
	exec *schema.Executor

	reloads atomic.Int32 // mutation { reload } calls
}

// newTestServer serves a real registry loaded from dir.
func newTestServer(tb testing.TB, dir string) *testServer {
	tb.Helper()
	ts := loadedRegistry(tb, dir)
	ts.Server = httptest.NewServer(New(Config{Registry: ts.reg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Feed: ts.feed,
		Content:       taskformat.NewContent(0), // no cache: every bundle is built from the files
		Executor:      ts.exec,
		WSInitTimeout: 200 * time.Millisecond, MaxSubscriptions: 3, SSEHeartbeat: 20 * time.Millisecond}))
	tb.Cleanup(ts.Close)
	return ts
}

// loadedRegistry is a real registry loaded from dir, with its feed and an
// executor of the registry's schema, not yet served.
func loadedRegistry(tb testing.TB, dir string) *testServer {
	tb.Helper()
	feed := registry.NewFeed(64, 64)
	reg := registry.New(time.Now, feed)
	// The source is the registry's first: its index is 0.
	ts := &testServer{reg: reg, feed: feed, svc: sourcetest.Serve(tb, reg, newCatalogueSource(tb, dir))}
	ts.rescan(tb)
	sch, err := schema.New(schema.Deps{Content: taskformat.NewContent(1 << 20), Feed: feed,
		Reload: func(ctx context.Context) (int64, error) {
			ts.reloads.Add(1)
			return ts.svc.Rescan(ctx)
		}})
	if err != nil {
		tb.Fatal(err)
	}
	ts.exec = &schema.Executor{Schema: sch, Limits: schema.DefaultLimits()}
	return ts
}

func (ts *testServer) rescan(tb testing.TB) {
	tb.Helper()
	if _, err := ts.svc.Rescan(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// post sends a GraphQL request and decodes the answer.
func post(tb testing.TB, url, accept, query string, vars map[string]any) (int, http.Header, map[string]any) {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return do(tb, req)
}

func do(tb testing.TB, req *http.Request) (int, http.Header, map[string]any) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			tb.Fatalf("answer is not JSON: %s", data)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// registryUpdateRemovingAll is a full update that finds nothing.
func registryUpdateRemovingAll(ts *testServer) registry.Update {
	return registry.Update{Source: ts.idx, Complete: true}
}

// newCatalogueSource is an unwatched filesystem source over dir: tests
// rescan it by hand.
func newCatalogueSource(tb testing.TB, dir string) *fssource.Source {
	tb.Helper()
	src, err := fssource.New(fssource.Config{Name: "catalogue", Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}}, 0,
		slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return src
}
