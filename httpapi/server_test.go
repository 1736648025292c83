package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestTimeout runs a mutation whose resolver waits for its request to
// end: the answer is a 504 with a GraphQL error naming the limit, the
// resolver has returned before the answer is sent (no work runs on after
// it), and the server goes on.
func TestTimeout(t *testing.T) {
	var returned atomic.Bool
	s, err := schema.New(schema.Deps{Content: taskformat.NewContent(0), Reload: func(ctx context.Context) (int64, error) {
		<-ctx.Done()
		returned.Store(true)
		return 0, ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	limits := schema.DefaultLimits()
	limits.Timeout = 20 * time.Millisecond
	srv := httptest.NewServer(New(Config{Registry: registry.New(time.Now, nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Executor: &schema.Executor{Schema: s, Limits: limits}}))
	defer srv.Close()
	status, _, body := post(t, srv.URL, "", "mutation { reload }", nil)
	if status != http.StatusGatewayTimeout || !strings.Contains(messages(body), "took longer than 20ms (server.timeout)") {
		t.Errorf("got %d %v, want 504 and a GraphQL error", status, body)
	}
	if !returned.Load() {
		t.Error("the resolver was still running when the answer came")
	}
	if status, _, body := post(t, srv.URL, "", "{ tasks { id } }", nil); status != 200 {
		t.Errorf("got %d %v after a timeout, want 200", status, body)
	}
}

func TestRecoverer(t *testing.T) {
	h := recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/graphql", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"errors":[{"message":"internal server error"}]`) {
		t.Errorf("got %d %s, want 500 and a GraphQL error", rec.Code, rec.Body)
	}
}

func TestReadyz(t *testing.T) {
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(newCatalogueSource(t, catalogue))
	srv := httptest.NewServer(New(Config{Registry: reg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Executor: &schema.Executor{}}))
	defer srv.Close()
	check := func(want int) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("got %d, want %d", resp.StatusCode, want)
		}
	}
	check(503)
	reg.Apply(registry.Update{Source: idx, Complete: true})
	check(200)
}
