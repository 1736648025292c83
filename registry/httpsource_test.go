package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is an HTTP server of an index and its bundles, built from a
// real task tree, that misbehaves on demand.
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte // path to body
	mode     string
	requests map[string]int
	headers  map[string]http.Header // last request headers per path
}

func newUpstream(t *testing.T, tree files) *upstream {
	t.Helper()
	u := &upstream{requests: map[string]int{}, headers: map[string]http.Header{}}
	u.publish(t, tree)
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

// publish indexes a tree the way `ratchet-registry index` does.
func (u *upstream) publish(t *testing.T, tree files) {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, tree)
	s := loadDir(t, dir)
	if len(s.Errors()) > 0 {
		t.Fatalf("upstream tree is broken: %v", s.Errors())
	}
	content := NewContent(1 << 20)
	out := map[string][]byte{}
	idx, errs := BuildIndex(s, func(task *Task) (Bundle, error) {
		b, err := content.Bundle(task)
		out["/"+BundlePath(task.ID, task.Version)] = b.Data
		return b, err
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	out["/index.json"], _ = json.Marshal(idx)
	u.mu.Lock()
	u.files = out
	u.mu.Unlock()
}

func (u *upstream) set(mode string) {
	u.mu.Lock()
	u.mode = mode
	u.mu.Unlock()
}

func (u *upstream) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[path]
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.requests[r.URL.Path]++
	u.headers[r.URL.Path] = r.Header.Clone()
	body, ok := u.files[r.URL.Path]
	mode := u.mode
	u.mu.Unlock()
	isIndex := r.URL.Path == "/index.json"
	switch {
	case mode == "500":
		http.Error(w, "upstream broke", http.StatusInternalServerError)
		return
	case mode == "slow":
		<-r.Context().Done()
		return
	case mode == "garbage" && isIndex:
		body = []byte("<html>not json</html>")
	case mode == "wrong-api" && isIndex:
		body = []byte(`{"apiVersion": "v0", "tasks": []}`)
	case mode == "huge" && isIndex:
		body = append([]byte(`{"apiVersion": "ratchet-registry/v1", "tasks": [], "pad": "`), make([]byte, 2048)...)
	case mode == "tampered" && !isIndex && ok:
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 0xff
	case mode == "short" && !isIndex && ok:
		body = body[:len(body)-10]
	case !ok:
		http.NotFound(w, r)
		return
	}
	etag := `"` + strings.Repeat("e", 8) + string(rune('a'+len(body)%26)) + `"`
	if isIndex && mode == "" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(body)
}

func newTestHTTPSource(t *testing.T, url, cache string) *HTTPSource {
	t.Helper()
	s, err := NewHTTPSource(HTTPConfig{URL: url, Timeout: 200 * time.Millisecond, CacheDir: cache,
		Headers: map[string]string{"X-Api-Key": "k"}, Token: "secret"}, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.MaxIndexBytes = 1024
	return s
}

// pull is one poll of the source, applied.
func pull(t *testing.T, reg *Registry, idx int, src *HTTPSource) (*Snapshot, error) {
	t.Helper()
	res, err := src.Scan(context.Background())
	s, _ := reg.Apply(Update{Source: idx, Full: true, Results: res, Err: err})
	return s, err
}

func TestHTTPSource(t *testing.T) {
	up := newUpstream(t, mergeFiles(taskFiles(id1, "1.0.0").under("a"), taskFiles(id1, "1.1.0").under("b"), taskFiles(id2, "2.0.0").under("c")))
	cache := t.TempDir()
	reg := New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, cache)
	idx := reg.AddSource(src)
	s, err := pull(t, reg, idx, src)
	if err != nil || s.VersionCount() != 3 || s.Sources()[0].Status != StatusOK {
		t.Fatalf("got %d versions, %v, %+v", s.VersionCount(), err, s.Sources()[0])
	}
	task, _ := s.Task(id1, "1.1.0")
	if task.Path != up.URL+"/"+BundlePath(id1, "1.1.0") {
		t.Errorf("got path %s, want the bundle URL", task.Path)
	}
	if script, err := NewContent(1 << 10).Script(task); err != nil || script != taskFiles(id1, "1.1.0")["main.js"] {
		t.Errorf("got script %q, %v", script, err)
	}

	// An unchanged index costs one 304 and no bundle.
	bundles := up.count("/" + BundlePath(id1, "1.0.0"))
	gen := s.Generation
	s, err = pull(t, reg, idx, src)
	if err != nil || s.Generation != gen || up.count("/"+BundlePath(id1, "1.0.0")) != bundles || up.count("/index.json") != 2 {
		t.Errorf("unchanged poll: generation %d→%d, bundle fetched %d times, %v", gen, s.Generation, up.count("/"+BundlePath(id1, "1.0.0")), err)
	}

	// A change upstream: only the new bundle is fetched.
	up.publish(t, mergeFiles(taskFiles(id1, "1.0.0").under("a"), taskFiles(id1, "1.1.0").with("main.js", "(function(){ return 1; })").under("b")))
	s, err = pull(t, reg, idx, src)
	if err != nil || s.VersionCount() != 2 || up.count("/"+BundlePath(id1, "1.0.0")) != bundles || up.count("/"+BundlePath(id1, "1.1.0")) != 2 {
		t.Errorf("after a change: %d versions, bundle counts %d %d, %v", s.VersionCount(), up.count("/"+BundlePath(id1, "1.0.0")), up.count("/"+BundlePath(id1, "1.1.0")), err)
	}

	// A restart finds every bundle in the disk cache.
	reg2 := New(time.Now, nil)
	src2 := newTestHTTPSource(t, up.URL, cache)
	before := up.count("/" + BundlePath(id1, "1.1.0"))
	if s, err := pull(t, reg2, reg2.AddSource(src2), src2); err != nil || s.VersionCount() != 2 || up.count("/"+BundlePath(id1, "1.1.0")) != before {
		t.Errorf("restart downloaded again: %d→%d (%v)", before, up.count("/"+BundlePath(id1, "1.1.0")), err)
	}

	// Credentials went to the index host.
	if h := up.headers["/index.json"]; h.Get("Authorization") != "Bearer secret" || h.Get("X-Api-Key") != "k" {
		t.Errorf("index request headers: %v", h)
	}
}

// TestHTTPSourceFailures: each way an upstream can fail is an error on the
// source; what it served stays, degraded; and it recovers by itself.
func TestHTTPSourceFailures(t *testing.T) {
	tests := []struct {
		mode    string
		wantErr string
		partial bool // the index is fine, a bundle is not
	}{
		{"500", "500 Internal Server Error", false},
		{"slow", "Client.Timeout exceeded", false},
		{"garbage", "index is not valid JSON", false},
		{"wrong-api", `apiVersion is "v0"`, false},
		{"huge", "over the 1024-byte limit", false},
		{"refused", "connection refused", false},
		{"tampered", "bundle sha256 is", true},
		{"short", "bytes, the index says", true},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			up := newUpstream(t, taskFiles(id1, "1.0.0").under("a"))
			reg := New(time.Now, nil)
			src := newTestHTTPSource(t, up.URL, t.TempDir())
			idx := reg.AddSource(src)
			if _, err := pull(t, reg, idx, src); err != nil {
				t.Fatal(err)
			}
			if tc.partial {
				// A new version whose bundle will fail.
				up.publish(t, taskFiles(id1, "1.0.0").with("main.js", "(function(){ return 3; })").under("a"))
			}
			url := up.URL
			if tc.mode == "refused" {
				src.base.Host = closedAddr(t)
				url = src.base.String()
			}
			up.set(tc.mode)
			s, err := pull(t, reg, idx, src)
			if err == nil || !strings.Contains(err.Error()+fmtErrors(s), tc.wantErr) {
				t.Fatalf("got %v / %s, want an error with %q", err, fmtErrors(s), tc.wantErr)
			}
			var partial *PartialError
			if errors.As(err, &partial) != tc.partial {
				t.Errorf("got %T, partial %v", err, tc.partial)
			}
			task, ok := s.Task(id1, "1.0.0")
			if !ok {
				t.Fatalf("the last good task is gone")
			}
			if tc.partial && (!task.Stale || task.Error == nil || !strings.HasPrefix(task.Error.Path, url)) {
				t.Errorf("got %+v, want the last good version, stale, with an error naming the bundle", task)
			}
			if st := s.Sources()[0]; st.Status != StatusDegraded || st.Error == "" {
				t.Errorf("got source %+v, want degraded with the error", st)
			}
			if errs := s.Errors(); len(errs) != 1 || errs[0].Kind != KindFetch || errs[0].Source != src.Name() || !strings.Contains(errs[0].Message(), tc.wantErr) {
				t.Errorf("got load errors %v, want one FETCH error on the source", errs)
			}
			// Recovery.
			src.base.Host = strings.TrimPrefix(up.URL, "http://")
			up.set("")
			s, err = pull(t, reg, idx, src)
			if err != nil || s.Sources()[0].Status != StatusOK || s.ErrorCount() != 0 {
				t.Errorf("no recovery: %v %+v %s", err, s.Sources()[0], fmtErrors(s))
			}
			if task, _ := s.Task(id1, "1.0.0"); task.Stale {
				t.Errorf("still stale after recovery")
			}
		})
	}
}

func fmtErrors(s *Snapshot) string {
	var out []string
	for _, e := range s.Errors() {
		out = append(out, e.Error())
	}
	return strings.Join(out, "; ")
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	return addr
}

// TestCredentialsStayHome: bundles on another host, and redirects to
// another host, get no credentials.
func TestCredentialsStayHome(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{}
	cdnFiles := map[string][]byte{}
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Clone()
		body := cdnFiles[r.URL.Path]
		mu.Unlock()
		_, _ = w.Write(body)
	}))
	defer cdn.Close()
	up := newUpstream(t, mergeFiles(taskFiles(id1, "1.0.0").under("a"), taskFiles(id2, "1.0.0").under("b")))
	// Serve id1's bundle from the CDN by absolute URL, and id2's through a
	// redirect to it.
	var idx Index
	_ = json.Unmarshal(up.files["/index.json"], &idx)
	for i, e := range idx.Tasks {
		cdnFiles["/"+e.ID] = up.files["/"+e.Bundle]
		if e.ID == id1 {
			idx.Tasks[i].Bundle = cdn.URL + "/" + e.ID
		} else {
			up.files["/"+e.Bundle] = nil
			redirect := cdn.URL + "/" + e.ID
			mux := http.NewServeMux()
			mux.HandleFunc("/"+e.Bundle, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, redirect, http.StatusFound) })
			mux.HandleFunc("/", up.serve)
			up.Config.Handler = mux
		}
	}
	up.files["/index.json"], _ = json.Marshal(idx)
	reg := New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	s, err := pull(t, reg, reg.AddSource(src), src)
	if err != nil || s.TaskCount() != 2 {
		t.Fatalf("got %d tasks, %v %s", s.TaskCount(), err, fmtErrors(s))
	}
	mu.Lock()
	defer mu.Unlock()
	for path, h := range seen {
		if h.Get("Authorization") != "" || h.Get("X-Api-Key") != "" {
			t.Errorf("%s on the other host got credentials: %v", path, h)
		}
	}
	if len(seen) != 2 {
		t.Errorf("the CDN saw %d requests, want 2", len(seen))
	}
}

func TestNextPoll(t *testing.T) {
	src := newTestHTTPSource(t, "http://127.0.0.1:1/v1", t.TempDir())
	src.interval = 10 * time.Second
	if got := src.NextPoll(0); got != 10*time.Second {
		t.Errorf("got %s with no failures, want the interval", got)
	}
	prev := time.Duration(0)
	for f := 1; f <= 8; f++ {
		d := src.NextPoll(f)
		base := min(time.Second<<(f-1), 30*time.Second)
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("failure %d: got %s, want %s ±20%%", f, d, base)
		}
		prev = d
	}
	if prev > 36*time.Second {
		t.Errorf("backoff passed its cap: %s", prev)
	}
}

// TestSecretsNotShown: a password in the URL and the token never appear
// in the source's location or errors, which are logged and served.
func TestSecretsNotShown(t *testing.T) {
	src := newTestHTTPSource(t, "http://user:hunter2@"+closedAddr(t)+"/v1", t.TempDir())
	_, err := src.Scan(context.Background())
	for _, s := range []string{src.Location(), src.Name(), fmt.Sprint(err)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "secret") {
			t.Errorf("%q shows a secret", s)
		}
	}
	if err == nil {
		t.Error("want an error from a closed port")
	}
}

// TestRestartWhileUpstreamDown: a registry restarted while its upstream is
// down serves the index it saved at its last success, with the bundles
// cached beside it, and recovers when the upstream is back.
func TestRestartWhileUpstreamDown(t *testing.T) {
	up := newUpstream(t, mergeFiles(taskFiles(id1, "1.0.0").under("a"), taskFiles(id2, "1.0.0").under("b")))
	cache := t.TempDir()
	first := New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, cache)
	if _, err := pull(t, first, first.AddSource(src), src); err != nil {
		t.Fatal(err)
	}
	up.set("500")
	restarted := New(time.Now, nil)
	src2 := newTestHTTPSource(t, up.URL, cache)
	idx := restarted.AddSource(src2)
	s, err := pull(t, restarted, idx, src2)
	var fallback *FallbackError
	if !errors.As(err, &fallback) || !strings.Contains(err.Error(), "serving the index saved at") {
		t.Fatalf("got %v, want the saved index served", err)
	}
	if s.TaskCount() != 2 || s.Sources()[0].Status != StatusDegraded || s.ErrorCount() != 1 {
		t.Errorf("got %d tasks, %+v, errors %v; want both tasks, degraded, one error", s.TaskCount(), s.Sources()[0], s.Errors())
	}
	// Without a saved index there is nothing to serve.
	empty := New(time.Now, nil)
	src3 := newTestHTTPSource(t, up.URL, t.TempDir())
	if s, err := pull(t, empty, empty.AddSource(src3), src3); err == nil || s.TaskCount() != 0 || s.Sources()[0].Status != StatusError {
		t.Errorf("got %v, %d tasks, %+v", err, s.TaskCount(), s.Sources()[0])
	}
	up.set("")
	s, err = pull(t, restarted, idx, src2)
	if err != nil || s.Sources()[0].Status != StatusOK || s.ErrorCount() != 0 || s.TaskCount() != 2 {
		t.Errorf("no recovery: %v %+v %v", err, s.Sources()[0], s.Errors())
	}
}
