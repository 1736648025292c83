package ocisource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// Two task identities for tests.
const (
	id1 = registrytest.ID1
	id2 = registrytest.ID2
	id3 = "33333333-3333-4333-8333-333333333333"
)

// taskZip is a valid task packed as a zip.
func taskZip(tb testing.TB, id, version string) []byte {
	tb.Helper()
	return registrytest.ZipBytes(tb, registrytest.Task(id, version))
}

// layer is a task version ready to push.
func layer(tb testing.TB, id, version string) Layer {
	tb.Helper()
	return Layer{ID: id, Version: version, Zip: taskZip(tb, id, version)}
}

// testRegistry is a real OCI registry (go-containerregistry's) on
// loopback, behind a handler that records requests and can ask for basic
// auth, redirect blob downloads or tamper with them, as real registries
// and hostile ones do.
type testRegistry struct {
	tb      testing.TB
	handler http.Handler
	srv     *httptest.Server
	Addr    string

	mu       sync.Mutex
	requests []string // "METHOD /path"
	auths    []string // Authorization headers received
	user     string   // when set, basic auth is required
	password string
	redirect string                               // when set, blob GETs are redirected to this host
	tamper   func(req string, body []byte) []byte // when set, changes blob GET bodies
	status   func(req string) int                 // when set and not 0, the status a blob GET answers instead
}

func startRegistry(tb testing.TB) *testRegistry {
	tb.Helper()
	r := &testRegistry{tb: tb, handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))}
	r.srv = httptest.NewServer(r)
	r.Addr = r.srv.Listener.Addr().String()
	tb.Cleanup(func() { r.srv.Close() })
	return r
}

// stop makes the registry go away: connections are refused.
func (r *testRegistry) stop() { r.srv.Close() }

// restart brings it back on the same address, with the same content.
func (r *testRegistry) restart() {
	r.tb.Helper()
	var ln net.Listener
	var err error
	if !watchertest.Eventually(5*time.Second, func() bool { ln, err = net.Listen("tcp", r.Addr); return err == nil }) {
		r.tb.Fatalf("listen again on %s: %v", r.Addr, err)
	}
	r.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: r}}
	r.srv.Start()
}

func (r *testRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path)
	if a := req.Header.Get("Authorization"); a != "" {
		r.auths = append(r.auths, a)
	}
	user, password, redirect, tamper, status := r.user, r.password, r.redirect, r.tamper, r.status
	r.mu.Unlock()
	if user != "" {
		if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
	}
	isBlobGet := req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/sha256:")
	switch {
	case isBlobGet && status != nil && status(req.URL.Path) != 0:
		code := status(req.URL.Path)
		http.Error(w, http.StatusText(code), code)
	case isBlobGet && redirect != "":
		http.Redirect(w, req, "http://"+redirect+req.URL.Path, http.StatusTemporaryRedirect)
	case isBlobGet && tamper != nil:
		rec := httptest.NewRecorder()
		r.handler.ServeHTTP(rec, req)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := tamper(req.URL.Path, rec.Body.Bytes())
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	default:
		r.handler.ServeHTTP(w, req)
	}
}

// set changes the registry's behaviour under its lock.
func (r *testRegistry) set(f func(r *testRegistry)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

// take returns the requests and Authorization headers seen since the last
// take, and forgets them.
func (r *testRegistry) take() (requests, auths []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	requests, auths = r.requests, r.auths
	r.requests, r.auths = nil, nil
	return requests, auths
}

// count is how many of requests start with prefix and contain part.
func count(requests []string, prefix, part string) int {
	n := 0
	for _, q := range requests {
		if strings.HasPrefix(q, prefix) && strings.Contains(q, part) {
			n++
		}
	}
	return n
}

// push publishes layers to ref, failing the test on error.
func push(tb testing.TB, ref string, layers ...Layer) Pushed {
	tb.Helper()
	p, err := Push(context.Background(), ref, Remote{PlainHTTP: true}, layers)
	if err != nil {
		tb.Fatalf("push %s: %v", ref, err)
	}
	return p
}

// follower is a source applied to a registry of its own, one poll at a time.
type follower struct {
	src *Source
	reg *registry.Registry
	idx int
	log *watchertest.Log // what the source logged
}

func follow(tb testing.TB, cfg Config) *follower {
	tb.Helper()
	logs := &watchertest.Log{}
	if cfg.CacheDir == "" {
		cfg.CacheDir = tb.TempDir()
	}
	cfg.Remote.PlainHTTP = true
	src, err := New(cfg, 0, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(src.http.CloseIdleConnections)
	f := &follower{src: src, reg: registry.New(time.Now, nil), log: logs}
	f.idx = f.reg.AddSource(src)
	return f
}

// poll loads once and applies the result; it returns the snapshot and the
// source's error.
func (f *follower) poll(tb testing.TB) (*registry.Snapshot, error) {
	tb.Helper()
	u := f.src.Load(context.Background())
	u.Source = f.idx
	snap, _ := f.reg.Apply(u)
	return snap, u.Err
}

// versions lists "id version" of everything a snapshot serves.
func versions(s *registry.Snapshot) []string {
	var out []string
	for _, e := range s.Entries() {
		for _, t := range e.Versions {
			out = append(out, t.ID[:1]+" "+t.Version)
		}
	}
	return out
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
