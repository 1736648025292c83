package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestTimeout runs a resolver that waits for its request to end: the
// answer is a GraphQL error, and the server goes on.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	q := graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: graphql.Fields{
		"slow": &graphql.Field{Type: graphql.String, Resolve: func(p graphql.ResolveParams) (any, error) {
			select {
			case <-p.Context.Done():
			case <-release:
			}
			return "late", nil
		}},
		"fast": &graphql.Field{Type: graphql.String, Resolve: func(graphql.ResolveParams) (any, error) { return "ok", nil }},
	}})
	s, err := graphql.NewSchema(graphql.SchemaConfig{Query: q})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Registry: registry.New(time.Now, nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Executor: &schema.Executor{Schema: s}, Timeout: 20 * time.Millisecond}))
	defer srv.Close()
	status, _, body := post(t, srv.URL, "", "{ slow }", nil)
	if status != http.StatusGatewayTimeout || !strings.Contains(messages(body), "took longer than 20ms") {
		t.Errorf("got %d %v, want 504 and a GraphQL error", status, body)
	}
	if status, _, body := post(t, srv.URL, "", "{ fast }", nil); status != 200 {
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
	src, err := registry.NewFSSource("c", catalogue, 0)
	if err != nil {
		t.Fatal(err)
	}
	idx := reg.AddSource(src)
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
	reg.Apply(registry.Update{Source: idx, Full: true})
	check(200)
}
