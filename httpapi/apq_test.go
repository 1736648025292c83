package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func sha(q string) string {
	s := sha256.Sum256([]byte(q))
	return hex.EncodeToString(s[:])
}

// persistedGET asks for a persisted query by hash alone, as a dashboard
// polls once it is registered.
func persistedGET(tb testing.TB, base, hash string, version int, header map[string]string) (int, http.Header, string) {
	tb.Helper()
	ext := `{"persistedQuery":{"version":` + jsonInt(version) + `,"sha256Hash":"` + hash + `"}}`
	return request(tb, http.MethodGet, base+"/graphql?extensions="+url.QueryEscape(ext), "", header)
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// persistedPOST sends a query with its hash, as a client does after a miss.
func persistedPOST(tb testing.TB, base, query, hash string) (int, string) {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query,
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

// TestPersistedQueries: a hash the server does not know is a
// PersistedQueryNotFound that a client answers by sending the text; after
// that a GET with the hash alone is answered, with an ETag and 304s; a
// wrong hash, an unknown version or a malformed hash is refused; the
// store keeps at most its number of queries, the least recently used
// going first.
func TestPersistedQueries(t *testing.T) {
	ts := loadedRegistry(t, catalogue)
	srv, base := servedWith(t, ts, 0) // at most 2 queries, 1 KiB
	q1, q2, q3 := verdictFree, "{ tasks { id } }", "{ tasks { label } }"
	lookups := func(result string) float64 {
		return testutil.ToFloat64(srv.gql.persisted.lookups.WithLabelValues(result))
	}

	status, _, body := persistedGET(t, base, sha(q1), 1, nil)
	if status != http.StatusOK || !strings.Contains(body, `"message":"PersistedQueryNotFound"`) ||
		!strings.Contains(body, `"code":"PERSISTED_QUERY_NOT_FOUND"`) {
		t.Errorf("unknown hash: got %d %s, want 200 with PersistedQueryNotFound", status, body)
	}
	if status, body := persistedPOST(t, base, q1, sha(q1)); status != http.StatusOK || !strings.Contains(body, `"tasks":[`) {
		t.Errorf("registering: got %d %s", status, body)
	}
	status, h, body := persistedGET(t, base, sha(q1), 1, nil)
	if status != http.StatusOK || !strings.Contains(body, `"availableVersions"`) || h.Get("ETag") == "" {
		t.Fatalf("registered hash: got %d %s (ETag %q), want the answer with an ETag", status, body, h.Get("ETag"))
	}
	if _, plain, _ := getQuery(t, base, q1, nil); plain.Get("ETag") != h.Get("ETag") {
		t.Errorf("got ETag %s by hash and %s by text, want one", h.Get("ETag"), plain.Get("ETag"))
	}
	if status, _, _ := persistedGET(t, base, sha(q1), 1, map[string]string{"If-None-Match": h.Get("ETag")}); status != http.StatusNotModified {
		t.Errorf("registered hash with its ETag: got %d, want 304", status)
	}
	if lookups("miss") != 1 || lookups("registered") != 1 || lookups("hit") != 2 {
		t.Errorf("got %v misses, %v registered, %v hits; want 1, 1, 2", lookups("miss"), lookups("registered"), lookups("hit"))
	}

	for _, tc := range []struct {
		name       string
		send       func() (int, string)
		wantStatus int
		want       string
	}{
		{"a hash that is not the query's", func() (int, string) { return persistedPOST(t, base, q2, sha(q1)) },
			http.StatusBadRequest, "does not match"},
		{"version 2", func() (int, string) { s, _, b := persistedGET(t, base, sha(q1), 2, nil); return s, b },
			http.StatusBadRequest, "version must be 1"},
		{"a hash of 10 digits", func() (int, string) { s, _, b := persistedGET(t, base, "0123456789", 1, nil); return s, b },
			http.StatusBadRequest, "64 hexadecimal digits"},
		{"a query over the store's bytes", func() (int, string) {
			big := "{ tasks { id " + strings.Repeat("label ", 200) + "} }"
			if s, b := persistedPOST(t, base, big, sha(big)); s != http.StatusOK {
				return s, b
			}
			s, _, b := persistedGET(t, base, sha(big), 1, nil)
			return s, b
		}, http.StatusOK, "PersistedQueryNotFound"},
	} {
		refused := lookups("refused")
		status, body := tc.send()
		if status != tc.wantStatus || !strings.Contains(body, tc.want) {
			t.Errorf("%s: got %d %s, want %d with %q", tc.name, status, body, tc.wantStatus, tc.want)
		}
		if lookups("refused") != refused+1 {
			t.Errorf("%s: not counted as refused", tc.name)
		}
	}

	if _, _, body := persistedGET(t, base, sha(q1), 1, nil); !strings.Contains(body, `"availableVersions"`) {
		t.Fatalf("a query over the budget pushed out the others: got %s", body)
	}
	// Two queries fit: registering a third forgets the one used least lately.
	for _, q := range []string{q2, q3} {
		if status, body := persistedPOST(t, base, q, sha(q)); status != http.StatusOK {
			t.Fatalf("registering %s: got %d %s", q, status, body)
		}
	}
	for q, want := range map[string]string{q1: "PersistedQueryNotFound", q2: `"id"`, q3: `"label"`} {
		if _, _, body := persistedGET(t, base, sha(q), 1, nil); !strings.Contains(body, want) {
			t.Errorf("%s after two more: got %s, want %s", q, body, want)
		}
	}
	if n, b := srv.gql.persisted.lru.Len(), srv.gql.persisted.lru.Bytes(); n > 2 || b > 1<<10 {
		t.Errorf("the store holds %d queries in %d bytes, over 2 and 1 KiB", n, b)
	}
}
