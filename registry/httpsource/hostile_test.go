package httpsource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// hostile is an upstream that serves whatever index and bundles a test
// gives it, a new index body at every request (so that no poll is ever a
// 304), and counts what it is asked for.
type hostile struct {
	*httptest.Server
	mu       sync.Mutex
	tasks    []taskformat.IndexEntry
	bundles  map[string][]byte // by path
	redirect map[string]string // path to location
	requests map[string]int
	polls    int
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	h := &hostile{bundles: map[string][]byte{}, redirect: map[string]string{}, requests: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hostile) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests[r.URL.Path]++
	if r.URL.Path == "/index.json" {
		h.polls++
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": taskformat.IndexAPIVersion, "tasks": h.tasks, "poll": h.polls})
		return
	}
	if to, ok := h.redirect[r.URL.Path]; ok {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	body, ok := h.bundles[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write(body)
}

// list adds an index entry for body, served at bundle (a path on this
// server, or a URL elsewhere).
func (h *hostile) list(id, version, bundle string, body []byte) {
	sum := sha256.Sum256(body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tasks = append(h.tasks, taskformat.IndexEntry{ID: id, Version: version, Label: "l", Bundle: bundle,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))})
	if strings.HasPrefix(bundle, "/") {
		h.bundles[bundle] = body
	}
}

// bundleRequests counts the requests for anything but the index.
func (h *hostile) bundleRequests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for p, c := range h.requests {
		if p != "/index.json" {
			n += c
		}
	}
	return n
}

// cached lists the bundles in a source's cache.
func cached(t *testing.T, src *Source) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(src.cacheDir, "*.zip"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBundleCheckedBeforeCache: bundles whose size and sha256 match the
// index but that are not task archives never enter the cache. Before,
// they were moved into it first and never removed.
func TestBundleCheckedBeforeCache(t *testing.T) {
	up := newHostile(t)
	up.list(id1, "1.0.0", "/junk.zip", []byte("not a zip at all, but its digest is right"))
	two := zipBytes(t, mergeFiles(taskFiles(id2, "1.0.0").Under("x"), taskFiles(id2, "1.0.0").Under("y")))
	up.list(id2, "1.0.0", "/two.zip", two)
	reg := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	s, err := pull(t, reg, reg.AddSource(src), src)
	if err == nil || s.TaskCount() != 0 {
		t.Fatalf("got %d tasks and %v, want both bundles refused", s.TaskCount(), err)
	}
	for _, want := range []string{"not a readable zip archive", "holds 2 task folders"} {
		if !strings.Contains(fmtErrors(s), want) {
			t.Errorf("errors %s, want one saying %q", fmtErrors(s), want)
		}
	}
	if c := cached(t, src); len(c) != 0 {
		t.Errorf("the cache holds %v, want nothing", c)
	}
	if left, _ := filepath.Glob(filepath.Join(src.cacheDir, ".download-*")); len(left) != 0 {
		t.Errorf("downloads left behind: %v", left)
	}
}

// TestCachePruned: three indexes in a row, each with other bundles: the
// cache keeps only the bundles of the last two. Before, it kept every
// bundle ever fetched (401 MB after two hostile indexes).
func TestCachePruned(t *testing.T) {
	up := newUpstream(t, taskFiles(id1, "1.0.0").Under("a"))
	reg := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	idx := reg.AddSource(src)
	sums := map[string]string{}
	for i, tree := range []files{
		taskFiles(id1, "1.0.0").Under("a"),
		taskFiles(id1, "1.1.0").Under("a"),
		taskFiles(id2, "2.0.0").Under("b"),
	} {
		up.publish(t, tree)
		if _, err := pull(t, reg, idx, src); err != nil {
			t.Fatal(err)
		}
		for _, e := range src.index.Tasks {
			sums[e.SHA256] = fmt.Sprint(i)
		}
		if n := len(cached(t, src)); n != min(i+1, 2) {
			t.Errorf("after index %d the cache holds %d bundles, want %d", i, n, min(i+1, 2))
		}
	}
	for _, p := range cached(t, src) {
		if sum := strings.TrimSuffix(filepath.Base(p), ".zip"); sums[sum] == "0" {
			t.Errorf("the bundle of the first index is still cached")
		}
	}
	// Another source's bundles are its own: pruning one leaves them.
	other := newTestHTTPSource(t, up.URL+"/other", filepath.Dir(src.cacheDir))
	if other.cacheDir == src.cacheDir {
		t.Errorf("two sources share the cache folder %s", src.cacheDir)
	}
}

// TestFailedBundlesBackOff: an index of 1,000 bundles that all fail,
// served anew at every poll, costs 1,000 bundle requests over five polls,
// not 5,000 (before: every failed bundle was fetched again at every poll,
// 108,000 requests in 40 s for 80,000 entries); each is fetched again
// once its own back-off has passed.
func TestFailedBundlesBackOff(t *testing.T) {
	up := newHostile(t)
	const n = 1000
	for i := range n {
		up.list(fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), "1.0.0", fmt.Sprintf("/missing/%d.zip", i), []byte(fmt.Sprint(i)))
		delete(up.bundles, fmt.Sprintf("/missing/%d.zip", i)) // listed, but 404
	}
	reg := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	src.maxIndexBytes = 1 << 20
	src.client.Timeout = time.Minute // a large index on a busy machine
	src.retryAfter = 10 * time.Minute
	now := time.Now()
	src.clock = func() time.Time { return now }
	idx := reg.AddSource(src)
	for range 5 {
		_, err := pull(t, reg, idx, src)
		if err == nil || !strings.Contains(err.Error(), "1000 of 1000 bundles failed") {
			t.Fatalf("got %v, want every bundle failed", err)
		}
	}
	if got := up.bundleRequests(); got != n {
		t.Errorf("5 polls made %d bundle requests, want %d: one each", got, n)
	}
	// Past the back-off (10 minutes, ±20%), each is tried once more.
	now = now.Add(15 * time.Minute)
	if _, err := pull(t, reg, idx, src); err == nil {
		t.Fatal("the bundles loaded")
	}
	if got := up.bundleRequests(); got != 2*n {
		t.Errorf("got %d bundle requests, want %d", got, 2*n)
	}
	// The back-off doubles: 15 minutes later they are not due yet.
	now = now.Add(15 * time.Minute)
	_, _ = pull(t, reg, idx, src)
	if got := up.bundleRequests(); got != 2*n {
		t.Errorf("got %d bundle requests, want %d: the second back-off is longer", got, 2*n)
	}
}

// TestBundlesStayOnOrigin: an index that names bundles on another host,
// directly or through a redirect, cannot make the registry fetch them (a
// server on the inside, a cloud metadata address); the error names
// allow_hosts, and tells nothing of what is there. Before, any host was
// fetched, and the errors showed its size and sha256.
func TestBundlesStayOnOrigin(t *testing.T) {
	var mu sync.Mutex
	inside := 0
	secret := zipBytes(t, taskFiles(id2, "1.0.0"))
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inside++
		mu.Unlock()
		_, _ = w.Write(secret)
	}))
	defer internal.Close()
	up := newHostile(t)
	up.list(id1, "1.0.0", internal.URL+"/latest/meta-data", secret)
	up.list(id2, "1.0.0", "/redirected.zip", secret)
	up.redirect["/redirected.zip"] = internal.URL + "/secret.zip"
	reg := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	s, err := pull(t, reg, reg.AddSource(src), src)
	if err == nil || s.TaskCount() != 0 {
		t.Fatalf("got %d tasks, %v: want both refused", s.TaskCount(), err)
	}
	mu.Lock()
	if inside != 0 {
		t.Errorf("the internal server got %d requests, want none", inside)
	}
	mu.Unlock()
	host := strings.TrimPrefix(internal.URL, "http://")
	if msg := fmtErrors(s); strings.Count(msg, "allow_hosts") != 2 || strings.Contains(msg, "sha256 is") || strings.Contains(msg, "bytes, the index says") {
		t.Errorf("errors %s, want two naming allow_hosts and %s, and nothing of the content", msg, host)
	}

	// Allowed by name, both come through.
	src2 := newTestHTTPSource(t, up.URL, t.TempDir())
	src2.allowHosts = []string{host}
	reg2 := registry.New(time.Now, nil)
	if s, err := pull(t, reg2, reg2.AddSource(src2), src2); err != nil || s.TaskCount() != 1 {
		// id1's listing holds id2's bundle: one task, one mismatch.
		if !strings.Contains(fmtErrors(s), "but the index says") {
			t.Errorf("with allow_hosts: %d tasks, %v %s", s.TaskCount(), err, fmtErrors(s))
		}
	}
	// Both listings name the same bytes: the second fetch may be served
	// from the cache by digest when the first has finished, so 1 or 2.
	mu.Lock()
	if inside < 1 || inside > 2 {
		t.Errorf("with allow_hosts the other host got %d requests, want 1 or 2", inside)
	}
	mu.Unlock()
}

// TestBundleSizeBound: a bundle the index says is over the limit is not
// fetched at all; one whose body runs past the size the index gives is
// cut there and refused.
func TestBundleSizeBound(t *testing.T) {
	up := newHostile(t)
	big := zipBytes(t, taskFiles(id1, "1.0.0").With("main.js", "("+strings.Repeat(" ", 4096)+"function(){ return {}; })"))
	up.list(id1, "1.0.0", "/big.zip", big)
	up.list(id2, "1.0.0", "/long.zip", zipBytes(t, taskFiles(id2, "1.0.0")))
	up.bundles["/long.zip"] = append(up.bundles["/long.zip"], make([]byte, 1<<20)...)
	reg := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	src.maxBundleBytes = int64(len(big)) - 1
	s, _ := pull(t, reg, reg.AddSource(src), src)
	if up.requests["/big.zip"] != 0 {
		t.Errorf("the bundle over the limit was requested")
	}
	for _, want := range []string{"over the " + fmt.Sprint(len(big)-1) + "-byte limit", "bytes, the index says"} {
		if !strings.Contains(fmtErrors(s), want) {
			t.Errorf("errors %s, want one saying %q", fmtErrors(s), want)
		}
	}
	if c := cached(t, src); len(c) != 0 {
		t.Errorf("the cache holds %v", c)
	}
	if _, err := os.Stat(src.cacheDir); err != nil {
		t.Fatal(err)
	}
}
