package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
)

// TestPersistedQueryKeys: the defaults the table shows are the server's
// own, a value set reaches the server (server.persisted_queries: 1 keeps
// one query, so registering a second forgets the first), and a value of
// 0 is refused at its line.
func TestPersistedQueryKeys(t *testing.T) {
	for key, want := range map[string]int{
		"server.persisted_queries":     httpapi.DefaultPersistedQueries,
		"server.persisted_query_bytes": httpapi.DefaultPersistedQueryBytes,
	} {
		if got, _ := strconv.Atoi(defaultValue(key)); got != want {
			t.Errorf("%s: the table says %d, the server uses %d", key, got, want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("server:\n  persisted_queries: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "--config", path, "examples")
	p.waitReady(t)
	a, b := "{ tasks { id } }", "{ tasks { label } }"
	for _, q := range []string{a, b} {
		if got := persistedQuery(t, p.url, q, true); strings.Contains(got, "PersistedQueryNotFound") || !strings.Contains(got, `"data"`) {
			t.Fatalf("registering %s: got %s", q, got)
		}
	}
	if got := persistedQuery(t, p.url, b, false); !strings.Contains(got, `"data"`) {
		t.Errorf("the query kept: got %s, want its answer", got)
	}
	if got := persistedQuery(t, p.url, a, false); !strings.Contains(got, "PersistedQueryNotFound") {
		t.Errorf("the query pushed out by the second with persisted_queries: 1: got %s, want PersistedQueryNotFound", got)
	}

	if err := os.WriteFile(path, []byte("server:\n  persisted_query_bytes: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path)
	if want := path + ":2: server.persisted_query_bytes: is 0: must be more than 0"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// persistedQuery sends a query as Apollo's persisted-queries link does:
// its hash alone by GET, or with its text by POST to register it. It
// returns the answer's body.
func persistedQuery(tb testing.TB, base, query string, register bool) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	var resp *http.Response
	var err error
	if register {
		body, _ := json.Marshal(map[string]any{"query": query, "extensions": ext})
		resp, err = http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	} else {
		e, _ := json.Marshal(ext)
		resp, err = http.Get(base + "/graphql?extensions=" + url.QueryEscape(string(e)))
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}
