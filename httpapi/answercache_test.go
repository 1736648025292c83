package httpapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

const (
	verdictFree = "{ tasks { id version label availableVersions } }"
	withVerdict = "{ tasks { id verdict { status } } }"
)

// servedWith serves ts's registry through a Server of its own, whose
// answer cache the test can read, with the given budget.
func servedWith(tb testing.TB, ts *testServer, cacheBytes int64) (*Server, string) {
	tb.Helper()
	srv := New(Config{Registry: ts.reg, Log: slog.New(slog.DiscardHandler), Feed: ts.feed, Content: taskformat.NewContent(0),
		Executor: ts.exec, AnswerCacheBytes: cacheBytes, MaxPersistedQueries: 2, PersistedQueryBytes: 1 << 10})
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	return srv, hs.URL
}

// getQuery GETs query with more headers; the body is as sent, not decoded.
func getQuery(tb testing.TB, base, query string, header map[string]string) (int, http.Header, []byte) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/graphql?query="+url.QueryEscape(query), nil)
	req.Header.Set("Accept-Encoding", "identity") // else net/http asks for gzip and decodes it unseen
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// passAll gives every task with tests a passing verdict.
func passAll(tb testing.TB, reg *registry.Registry) {
	tb.Helper()
	reg.EnableVerdicts()
	n := 0
	for _, task := range reg.Snapshot().Latest() {
		if len(task.TestFiles()) == 0 {
			continue
		}
		v := registry.NewVerdict(task.TestDigest, []registry.CaseResult{{File: task.TestFiles()[0], Status: registry.CasePassed, Duration: time.Millisecond}})
		if reg.SetVerdict(task, v) {
			n++
		}
	}
	if n == 0 {
		tb.Fatal("no task with tests took a verdict")
	}
}

// TestVerdictChangeKeepsVerdictFreeAnswers: tests that start and finish
// change the answers and ETags of queries that select a verdict and of no
// others: a verdict-free answer stays cached and its ETag still earns a
// 304.
func TestVerdictChangeKeepsVerdictFreeAnswers(t *testing.T) {
	ts := loadedRegistry(t, catalogue)
	srv, base := servedWith(t, ts, 0)
	_, free, freeBody := getQuery(t, base, verdictFree, nil)
	_, shown, _ := getQuery(t, base, withVerdict, nil)
	passAll(t, ts.reg)
	hits := testutil.ToFloat64(srv.gql.cache.hits)

	status, h, body := getQuery(t, base, verdictFree, nil)
	if status != http.StatusOK || h.Get("ETag") != free.Get("ETag") || !bytes.Equal(body, freeBody) {
		t.Errorf("verdict-free query: got %d ETag %s, want 200 with ETag %s and the same answer", status, h.Get("ETag"), free.Get("ETag"))
	}
	if got := testutil.ToFloat64(srv.gql.cache.hits); got != hits+1 {
		t.Errorf("got %v cache hits, want %v: the verdict-free answer was made again", got, hits+1)
	}
	if status, _, _ := getQuery(t, base, verdictFree, map[string]string{"If-None-Match": free.Get("ETag")}); status != http.StatusNotModified {
		t.Errorf("verdict-free query with its old ETag: got %d, want 304", status)
	}
	status, h, body = getQuery(t, base, withVerdict, map[string]string{"If-None-Match": shown.Get("ETag")})
	if status != http.StatusOK || h.Get("ETag") == shown.Get("ETag") || !bytes.Contains(body, []byte("PASSED")) {
		t.Errorf("query with verdicts: got %d ETag %s (was %s) %s, want 200 with a new ETag and PASSED", status, h.Get("ETag"), shown.Get("ETag"), body)
	}
}

// TestReplicasAgreeOnETagsWhileTestsRun: two real servers over the same
// tasks, one with its tests done and one with none run, give the same
// ETag to a query that shows no verdict, and different ones to a query
// that does.
func TestReplicasAgreeOnETagsWhileTestsRun(t *testing.T) {
	done, running := loadedRegistry(t, catalogue), loadedRegistry(t, catalogue)
	passAll(t, done.reg)
	running.reg.EnableVerdicts() // its runner has started and finished nothing
	_, urlDone := servedWith(t, done, 0)
	_, urlRunning := servedWith(t, running, 0)
	for _, tc := range []struct {
		query string
		same  bool
	}{
		{verdictFree, true},
		{"{ task(id: \"6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b\") { label description } taskVersions(id: \"6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b\") }", true},
		{withVerdict, false},
	} {
		_, a, _ := getQuery(t, urlDone, tc.query, nil)
		_, b, _ := getQuery(t, urlRunning, tc.query, nil)
		if (a.Get("ETag") == b.Get("ETag")) != tc.same {
			t.Errorf("%s: got ETags %s and %s, want them equal: %v", tc.query, a.Get("ETag"), b.Get("ETag"), tc.same)
		}
	}
}

// TestCompressedAnswers: each content coding gives the same answer, with
// Vary and one weak ETag that earns a 304 whatever coding the client asks
// for next; a second request in a coding is served compressed from the
// cache without compressing again.
func TestCompressedAnswers(t *testing.T) {
	ts := loadedRegistry(t, catalogue)
	srv, base := servedWith(t, ts, 0)
	const query = "{ a: tasks { id version label description availableVersions tags } b: tasks { id label description } c: tasks { id description } }"
	_, h, plain := getQuery(t, base, query, nil)
	if len(plain) < minCompressBytes {
		t.Fatalf("the answer is %d bytes, too small to be compressed: %s", len(plain), plain)
	}
	etag := h.Get("ETag")
	decode := map[string]func([]byte) ([]byte, error){
		"": func(b []byte) ([]byte, error) { return b, nil },
		"gzip": func(b []byte) ([]byte, error) {
			r, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		},
		"zstd": func(b []byte) ([]byte, error) {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			defer d.Close()
			return d.DecodeAll(b, nil)
		},
	}
	for _, tc := range []struct{ accept, want string }{
		{"identity", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br", "gzip"},
		{"zstd", "zstd"},
		{"gzip, zstd", "zstd"},
		{"zstd;q=0, gzip", "gzip"},
		{"br", ""},
	} {
		var first []byte
		for round := range 2 {
			hits := testutil.ToFloat64(srv.gql.cache.hits)
			status, h, body := getQuery(t, base, query, map[string]string{"Accept-Encoding": tc.accept})
			if status != http.StatusOK || h.Get("Content-Encoding") != tc.want || h.Get("ETag") != etag ||
				h.Get("Vary") != "Accept, Accept-Encoding" {
				t.Errorf("%s: got %d, Content-Encoding %q, ETag %s, Vary %q; want 200, %q, %s, Accept-Encoding varied",
					tc.accept, status, h.Get("Content-Encoding"), h.Get("ETag"), h.Get("Vary"), tc.want, etag)
			}
			got, err := decode[tc.want](body)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("%s: decoded %.100s (%v), want the answer %.100s", tc.accept, got, err, plain)
			}
			if tc.want != "" && len(body) >= len(plain) {
				t.Errorf("%s: %d bytes compressed, %d plain", tc.accept, len(body), len(plain))
			}
			if got := testutil.ToFloat64(srv.gql.cache.hits); got != hits+1 {
				t.Errorf("%s: got %v hits, want %v", tc.accept, got, hits+1)
			}
			if round == 1 && !bytes.Equal(body, first) {
				t.Errorf("%s: the second answer differs from the first: not the cached form", tc.accept)
			}
			first = body
		}
		for _, other := range []string{"identity", "gzip", "zstd"} {
			status, _, body := getQuery(t, base, query, map[string]string{"Accept-Encoding": other, "If-None-Match": etag})
			if status != http.StatusNotModified || len(body) != 0 {
				t.Errorf("%s then %s with its ETag: got %d, want 304", tc.accept, other, status)
			}
		}
	}
	// Each coding is compressed once and kept: the cache holds the three.
	n, kept := 0, 0
	srv.gql.cache.lru.Each(func(_ string, f forms) bool {
		n++
		for _, form := range f {
			if form != nil {
				kept++
			}
		}
		return true
	})
	if n != 1 || kept != 3 {
		t.Errorf("got %d answers in %d forms, want 1 in 3", n, kept)
	}
}

// TestAnswerCacheBudget: an answer over the byte budget is served but not
// kept; under it, answers are kept and the least recently used evicted,
// as the metrics show.
func TestAnswerCacheBudget(t *testing.T) {
	ts := loadedRegistry(t, catalogue)
	// What the answer costs the budget: its bytes, its key and bookkeeping.
	free, freeURL := servedWith(t, ts, 0)
	_, _, plain := getQuery(t, freeURL, verdictFree, nil)
	cost := free.gql.cache.lru.Bytes()
	if cost <= int64(len(plain)) {
		t.Fatalf("an answer of %d bytes costs %d, want its key and bookkeeping counted too", len(plain), cost)
	}
	srv, base := servedWith(t, ts, cost+10)
	for range 2 {
		if status, _, body := getQuery(t, base, verdictFree, nil); status != http.StatusOK || !bytes.Equal(body, plain) {
			t.Fatalf("got %d %s", status, body)
		}
	}
	if hits := testutil.ToFloat64(srv.gql.cache.hits); hits != 1 {
		t.Errorf("under the budget: got %v hits, want 1", hits)
	}
	// What the list answers are made of is kept within a budget of its
	// own, and shown.
	if got := testutil.ToFloat64(listCacheBytes(srv.gql.lists)); got <= 0 || got > float64(cost+10) {
		t.Errorf("got list_cache_bytes %v, want more than 0 and at most the budget of %d", got, cost+10)
	}
	// A second answer does not fit beside the first: the first goes.
	getQuery(t, base, "{ tasks { id } }", nil)
	if ev := testutil.ToFloat64(srv.gql.cache.evictions); ev != 1 {
		t.Errorf("got %v evictions, want 1", ev)
	}
	small, smallURL := servedWith(t, ts, cost-1)
	for range 2 {
		getQuery(t, smallURL, verdictFree, nil)
	}
	if hits, misses := testutil.ToFloat64(small.gql.cache.hits), testutil.ToFloat64(small.gql.cache.misses); hits != 0 || misses != 2 {
		t.Errorf("over the budget: got %v hits and %v misses, want 0 and 2", hits, misses)
	}
}
