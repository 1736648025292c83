package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestAnswerFollowsLiveState: how a source is watched changes with no new
// generation (a watcher sets up after the load, or falls back to
// polling). An answer that shows it is neither served from the answer
// cache nor answered 304 once it has changed.
func TestAnswerFollowsLiveState(t *testing.T) {
	ts := loadedRegistry(t, catalogue)
	var watches atomic.Int64
	sch, err := schema.New(schema.Deps{Content: registry.NewContent(0), Feed: ts.feed,
		Watch: func(string) (registry.WatchStatus, bool) {
			return registry.WatchStatus{Mode: "fsnotify", Watches: int(watches.Load())}, true
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Registry: ts.reg, Log: slog.New(slog.DiscardHandler), Content: registry.NewContent(0),
		Executor: &schema.Executor{Schema: sch, Limits: schema.DefaultLimits},
		Live:     func() string { return fmt.Sprint(watches.Load()) }}))
	t.Cleanup(srv.Close)
	get := func(etag string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/graphql?query="+url.QueryEscape("{ sources { watch { watches } } }"), nil)
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
	tests := []struct {
		watches    int64
		withETag   bool
		wantStatus int
		wantBody   string
	}{
		{0, false, 200, `"watches":0`},
		{0, false, 200, `"watches":0`}, // from the cache
		{0, true, 304, ""},             // unchanged: the poll is cheap
		{12, true, 200, `"watches":12`},
		{12, false, 200, `"watches":12`},
	}
	etag := ""
	for i, tc := range tests {
		watches.Store(tc.watches)
		sent := ""
		if tc.withETag {
			sent = etag
		}
		status, body, got := get(sent)
		if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("step %d (watches %d): got %d %s, want %d with %s", i, tc.watches, status, body, tc.wantStatus, tc.wantBody)
		}
		if got != "" {
			etag = got
		}
	}
}
