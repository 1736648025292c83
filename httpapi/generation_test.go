package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestEveryVisibleChangeIsANewAnswer: whatever changes what an answer
// shows makes a new generation and a new content digest, so neither the
// answer cache (keyed by generation) nor a client's ETag serves the old
// answer.
func TestEveryVisibleChangeIsANewAnswer(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		before func(*testServer) // sets the scene before the first answer
		change func(*testServer)
		want   string // in the answer after the change
	}{
		{
			name:  "a revision moves, no task changes",
			query: "{ sources { revision } }",
			before: func(ts *testServer) {
				ts.reg.Apply(registry.Update{Source: ts.idx, Revision: "1111111"})
			},
			change: func(ts *testServer) {
				ts.reg.Apply(registry.Update{Source: ts.idx, Revision: "2222222"})
			},
			want: `"revision":"2222222"`,
		},
		{
			name:   "a runner starts",
			query:  `{ task(id: "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b") { verdict { status } } }`,
			change: func(ts *testServer) { ts.reg.EnableVerdicts() },
			want:   `"status":"PENDING"`,
		},
		{
			name:   "a source is added",
			query:  "{ sources { name } }",
			change: func(ts *testServer) { ts.reg.AddSource(newCatalogueSource(t, t.TempDir())) },
			want:   `{"name":"catalogue"},{"name":"catalogue"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, catalogue)
			if tc.before != nil {
				tc.before(ts)
			}
			get := func(inm string) (int, string, string) {
				t.Helper()
				h := map[string]string{}
				if inm != "" {
					h["If-None-Match"] = inm
				}
				status, header, body := request(t, "GET", ts.URL+"/graphql?query="+url.QueryEscape(tc.query), "", h)
				return status, header.Get("ETag"), body
			}
			status, etag, body := get("")
			if status != http.StatusOK || strings.Contains(body, tc.want) {
				t.Fatalf("before: got %d %s", status, body)
			}
			gen := ts.reg.Snapshot().Generation
			tc.change(ts)
			if now := ts.reg.Snapshot().Generation; now <= gen {
				t.Errorf("generation %d after the change, want more than %d", now, gen)
			}
			if status, _, body := get(etag); status != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("with the old ETag: got %d %s, want 200 with %s", status, body, tc.want)
			}
			if status, _, body := get(""); status != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want 200 with %s", status, body, tc.want)
			}
		})
	}
}
