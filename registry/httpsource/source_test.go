package httpsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type files = registrytest.Files

var (
	taskFiles  = registrytest.Task
	mergeFiles = registrytest.Merge
	zipBytes   = registrytest.ZipBytes
)

const (
	id1 = registrytest.ID1
	id2 = registrytest.ID2
)

type (
	Registry = registry.Registry
	Snapshot = registry.Snapshot
	Task     = registry.Task
	Bundle   = taskformat.Bundle
	Index    = taskformat.Index
)

const (
	StatusOK       = registry.StatusOK
	StatusDegraded = registry.StatusDegraded
	StatusError    = registry.StatusError
	KindFetch      = registry.KindFetch
)

var (
	NewContent = taskformat.NewContent
	BuildIndex = taskformat.BuildIndex
	BundlePath = taskformat.BundlePath
)

// loadDir loads a folder as the filesystem source would, for publishing.
func loadDir(t *testing.T, dir string) *Snapshot {
	t.Helper()
	reg := registry.New(time.Now, nil)
	u := registry.Update{Source: reg.AddSource(sourcetest.Named("upstream")), Complete: true}
	roots, _ := taskformat.Discover(taskformat.DirFS(dir), ".")
	ld := taskformat.NewLoader()
	for _, key := range roots {
		r := taskformat.Root{Source: "upstream", Key: key, Display: filepath.Join(dir, key)}
		u.Results = append(u.Results, ld.LoadDir(r, taskformat.DirFS(filepath.Join(dir, key))))
	}
	reg.Apply(u)
	return reg.Snapshot()
}

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
	registrytest.WriteTree(t, dir, tree)
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
	sum := sha256.Sum256(body) // different bodies, different tags
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if isIndex && mode == "" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(body)
}

func newTestHTTPSource(t *testing.T, url, cache string) *Source {
	t.Helper()
	s, err := New(Config{URL: url, Timeout: 200 * time.Millisecond, CacheDir: cache,
		Headers: map[string]string{"X-Api-Key": "k"}, Token: "secret"}, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.maxIndexBytes = 1024
	s.retryAfter = time.Millisecond
	return s
}

// pull is one poll of the source, applied.
func pull(t *testing.T, reg *Registry, idx int, src *Source) (*Snapshot, error) {
	t.Helper()
	u := src.Load(context.Background())
	u.Source = idx
	s, _ := reg.Apply(u)
	return s, u.Err
}

func TestHTTPSource(t *testing.T) {
	up := newUpstream(t, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id1, "1.1.0").Under("b"), taskFiles(id2, "2.0.0").Under("c")))
	cache := t.TempDir()
	reg := registry.New(time.Now, nil)
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
	up.publish(t, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id1, "1.1.0").With("main.js", "(function(){ return 1; })").Under("b")))
	s, err = pull(t, reg, idx, src)
	if err != nil || s.VersionCount() != 2 || up.count("/"+BundlePath(id1, "1.0.0")) != bundles || up.count("/"+BundlePath(id1, "1.1.0")) != 2 {
		t.Errorf("after a change: %d versions, bundle counts %d %d, %v", s.VersionCount(), up.count("/"+BundlePath(id1, "1.0.0")), up.count("/"+BundlePath(id1, "1.1.0")), err)
	}

	// A restart finds every bundle in the disk cache.
	reg2 := registry.New(time.Now, nil)
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
			up := newUpstream(t, taskFiles(id1, "1.0.0").Under("a"))
			reg := registry.New(time.Now, nil)
			src := newTestHTTPSource(t, up.URL, t.TempDir())
			idx := reg.AddSource(src)
			if _, err := pull(t, reg, idx, src); err != nil {
				t.Fatal(err)
			}
			if tc.partial {
				// A new version whose bundle will fail.
				up.publish(t, taskFiles(id1, "1.0.0").With("main.js", "(function(){ return 3; })").Under("a"))
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
			// The source's failure is an error on the source; a bundle's is
			// also an error on its task.
			errs := s.Errors()
			want := 1
			if tc.partial {
				want = 2
			}
			if len(errs) != want || errs[0].Kind != KindFetch || errs[0].Root != "" || errs[0].Source != src.Name() ||
				!strings.Contains(fmtErrors(s), tc.wantErr) {
				t.Errorf("got load errors %v, want a FETCH error on the source naming %q", errs, tc.wantErr)
			}
			if tc.partial && (errs[1].Kind != KindFetch || errs[1].Root == "" || !strings.Contains(errs[1].Message(), tc.wantErr)) {
				t.Errorf("got %v, want a FETCH error on the task naming %q", errs[1], tc.wantErr)
			}
			// Recovery, once a bundle that failed has waited its back-off.
			src.base.Host = strings.TrimPrefix(up.URL, "http://")
			up.set("")
			watchertest.Eventually(5*time.Second, func() bool { s, err = pull(t, reg, idx, src); return err == nil })
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
	up := newUpstream(t, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b")))
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
	reg := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, t.TempDir())
	src.allowHosts = []string{strings.TrimPrefix(cdn.URL, "http://")}
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

// TestSecretsNotShown: a password in the URL and the token never appear
// in the source's location or errors, which are logged and served.
func TestSecretsNotShown(t *testing.T) {
	// A token written as the user name is sent as basic auth: a secret too.
	for _, userinfo := range []string{"user:hunter2@", "hunter2@"} {
		src := newTestHTTPSource(t, "http://"+userinfo+closedAddr(t)+"/v1", t.TempDir())
		err := src.Load(context.Background()).Err
		for _, s := range []string{src.Location(), src.Name(), fmt.Sprint(err)} {
			if strings.Contains(s, "hunter2") || strings.Contains(s, "secret") {
				t.Errorf("%q shows a secret", s)
			}
		}
		if err == nil {
			t.Error("want an error from a closed port")
		}
	}
}

// TestRestartWhileUpstreamDown: a registry restarted while its upstream is
// down serves the index it saved at its last success, with the bundles
// cached beside it, and recovers when the upstream is back.
func TestRestartWhileUpstreamDown(t *testing.T) {
	up := newUpstream(t, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b")))
	cache := t.TempDir()
	first := registry.New(time.Now, nil)
	src := newTestHTTPSource(t, up.URL, cache)
	if _, err := pull(t, first, first.AddSource(src), src); err != nil {
		t.Fatal(err)
	}
	up.set("500")
	restarted := registry.New(time.Now, nil)
	src2 := newTestHTTPSource(t, up.URL, cache)
	idx := restarted.AddSource(src2)
	u := src2.Load(context.Background())
	u.Source = idx
	s, _ := restarted.Apply(u)
	if !u.Complete || u.Err == nil || !strings.Contains(u.Err.Error(), "serving the index saved at") {
		t.Fatalf("got %v, want the saved index served", u.Err)
	}
	if s.TaskCount() != 2 || s.Sources()[0].Status != StatusDegraded || s.ErrorCount() != 1 {
		t.Errorf("got %d tasks, %+v, errors %v; want both tasks, degraded, one error", s.TaskCount(), s.Sources()[0], s.Errors())
	}
	// Without a saved index there is nothing to serve.
	empty := registry.New(time.Now, nil)
	src3 := newTestHTTPSource(t, up.URL, t.TempDir())
	if s, err := pull(t, empty, empty.AddSource(src3), src3); err == nil || s.TaskCount() != 0 || s.Sources()[0].Status != StatusError {
		t.Errorf("got %v, %d tasks, %+v", err, s.TaskCount(), s.Sources()[0])
	}
	up.set("")
	s, err := pull(t, restarted, idx, src2)
	if err != nil || s.Sources()[0].Status != StatusOK || s.ErrorCount() != 0 || s.TaskCount() != 2 {
		t.Errorf("no recovery: %v %+v %v", err, s.Sources()[0], s.Errors())
	}
}
