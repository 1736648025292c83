package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestAnswerFollowsLiveState: how a source is watched changes with no new
// generation (a watcher sets up after the load, or falls back to
// polling). An answer that shows it is neither served from the answer
// cache nor answered 304 once it has changed; one that cannot show it
// stays cached, and its polls cheap.
func TestAnswerFollowsLiveState(t *testing.T) {
	var watches atomic.Int64
	reg := registry.New(time.Now, nil)
	src := newCatalogueSource(t, catalogue)
	u, _, _ := registry.FirstLoad(t.Context(), src)
	u.Source = reg.AddSource(liveSource{Source: src, watches: &watches})
	reg.Apply(u)
	sch, err := schema.New(schema.Deps{Content: taskformat.NewContent(0)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Registry: reg, Log: slog.New(slog.DiscardHandler), Content: taskformat.NewContent(0),
		Executor: &schema.Executor{Schema: sch, Limits: schema.DefaultLimits()}}))
	t.Cleanup(srv.Close)
	get := func(query, etag string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/graphql?query="+url.QueryEscape(query), nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header.Get("ETag")
	}
	const watchQuery, tasksQuery = "{ sources { watch { watches } } }", "{ tasks { id } }"
	tests := []struct {
		query      string
		watches    int64
		withETag   bool
		wantStatus int
		wantBody   string
	}{
		{watchQuery, 0, false, 200, `"watches":0`},
		{watchQuery, 0, false, 200, `"watches":0`}, // from the cache
		{watchQuery, 0, true, 304, ""},             // unchanged: the poll is cheap
		{tasksQuery, 0, false, 200, `"tasks"`},
		{watchQuery, 12, true, 200, `"watches":12`},
		{watchQuery, 12, false, 200, `"watches":12`},
		{tasksQuery, 12, true, 304, ""}, // it cannot show the watch state
	}
	etags := map[string]string{}
	for i, tc := range tests {
		watches.Store(tc.watches)
		sent := ""
		if tc.withETag {
			sent = etags[tc.query]
		}
		status, body, got := get(tc.query, sent)
		if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("step %d (%s, watches %d): got %d %s, want %d with %s", i, tc.query, tc.watches, status, body, tc.wantStatus, tc.wantBody)
		}
		if got != "" {
			etags[tc.query] = got
		}
	}
}

// liveSource is a source that follows files, whose watch count the test
// moves: the registry reads it through registry.Live.
type liveSource struct {
	registry.Source
	watches *atomic.Int64
}

func (l liveSource) Watch() registry.WatchStatus {
	return registry.WatchStatus{Mode: "fsnotify", Watches: int(l.watches.Load())}
}

func (l liveSource) Watching() <-chan struct{} {
	done := make(chan struct{})
	close(done)
	return done
}
