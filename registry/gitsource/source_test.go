package gitsource

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"go.uber.org/goleak"
)

// running is a source fed into a real registry by the real service.
type running struct {
	reg  *registry.Registry
	log  *watchertest.Log
	stop func()
}

// start runs a git source over cfg until the test ends.
func start(tb testing.TB, cfg Config) *running {
	tb.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Millisecond
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = tb.TempDir()
	}
	r := &running{reg: registry.New(time.Now, registry.NewFeed(64, 16)), log: &watchertest.Log{}}
	log := slog.New(slog.NewTextHandler(r.log, nil))
	src, err := New(cfg, 0, log)
	if err != nil {
		tb.Fatal(err)
	}
	svc := registry.NewService(r.reg, log, registry.Hooks{})
	svc.Add(src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = svc.Run(ctx)
	}()
	r.stop = func() { cancel(); <-done }
	tb.Cleanup(r.stop)
	return r
}

// waitFor polls the registry until cond holds, or fails after a deadline.
func (r *running) waitFor(tb testing.TB, what string, cond func(*registry.Snapshot) bool) *registry.Snapshot {
	tb.Helper()
	var snap *registry.Snapshot
	if !watchertest.Eventually(30*time.Second, func() bool { snap = r.reg.Snapshot(); return cond(snap) }) {
		tb.Fatalf("timed out waiting for %s; sources: %+v; errors: %v", what, snap.Sources(), snap.Errors())
	}
	return snap
}

func (r *running) source(tb testing.TB) registry.SourceStatus {
	tb.Helper()
	return r.reg.Snapshot().Sources()[0]
}

func servedRevision(rev string) func(*registry.Snapshot) bool {
	return func(s *registry.Snapshot) bool { return s.Sources()[0].Revision == rev }
}

// TestFollowsBranch is the life of a branch: the first load, a commit that
// changes one task (and only it is loaded again), a removed task, and a
// force-push that rewrites history.
func TestFollowsBranch(t *testing.T) {
	srv := newGitServer(t, "")
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0").Under("tasks/add"))
	repo.write(registrytest.Files{"tasks/calc.zip": string(registrytest.ZipBytes(t, registrytest.Task(registrytest.ID2, "1.0.0"))),
		"README.md": "not a task"})
	first := repo.commit("first")

	r := start(t, Config{URL: srv.url("tasks"), Path: "tasks"})
	snap := r.waitFor(t, "the first load", servedRevision(first))
	add, ok := snap.Task(registrytest.ID1, "1.0.0")
	if !ok {
		t.Fatalf("task add not served; errors: %v", snap.Errors())
	}
	if want := srv.url("tasks") + "@" + first[:7] + ":tasks/add"; add.Path != want {
		t.Errorf("path: got %s, want %s", add.Path, want)
	}
	if _, ok := snap.Task(registrytest.ID2, "1.0.0"); !ok {
		t.Fatalf("the zip task is not served; errors: %v", snap.Errors())
	}
	content := taskformat.NewContent(1 << 20)
	if js, err := content.Script(add); err != nil || js != registrytest.Task(registrytest.ID1, "1.0.0")["main.js"] {
		t.Fatalf("main.js read lazily from git: got %q, %v", js, err)
	}

	// A new version of add: the zip, unchanged, is not loaded again (its
	// task keeps the commit it was loaded at).
	repo.write(registrytest.Task(registrytest.ID1, "1.1.0").Under("tasks/add"))
	second := repo.commit("add 1.1.0")
	snap = r.waitFor(t, "the second commit", servedRevision(second))
	if _, ok := snap.Task(registrytest.ID1, "1.1.0"); !ok {
		t.Fatalf("add 1.1.0 not served; errors: %v", snap.Errors())
	}
	if calc, _ := snap.Task(registrytest.ID2, "1.0.0"); calc == nil || !strings.Contains(calc.Path, "@"+first[:7]+":") {
		t.Errorf("the unchanged zip was loaded again: %+v", calc)
	}

	// The zip goes away.
	repo.write(registrytest.Files{"tasks/calc.zip": ""})
	third := repo.commit("remove calc")
	snap = r.waitFor(t, "the removal", servedRevision(third))
	if _, ok := snap.Task(registrytest.ID2, "1.0.0"); ok {
		t.Errorf("a removed task is still served")
	}

	// A force-push replaces the last commit: add is 2.0.0 now, and the
	// 1.1.0 it replaced is gone with it.
	repo.write(registrytest.Task(registrytest.ID1, "2.0.0").Under("tasks/add"))
	forced := repo.amend("remove calc, add 2.0.0")
	snap = r.waitFor(t, "the force-push", servedRevision(forced))
	if got := snap.Versions(registrytest.ID1); strings.Join(got, " ") != "2.0.0" {
		t.Errorf("versions after the force-push: got %v, want [2.0.0]", got)
	}
	if st := r.source(t); st.Status != registry.StatusOK || st.Error != "" {
		t.Errorf("source: got %s %q, want ok", st.Status, st.Error)
	}
}

// TestUnchangedCostsOneRequest counts what the server is asked while
// nothing changes: one ref advertisement per poll, no fetch.
func TestUnchangedCostsOneRequest(t *testing.T) {
	srv := newGitServer(t, "")
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0"))
	first := repo.commit("first")
	r := start(t, Config{URL: srv.url("tasks")})
	r.waitFor(t, "the first load", servedRevision(first))
	gen := r.reg.Snapshot().Generation
	srv.take()
	var got []seen
	if !watchertest.Eventually(30*time.Second, func() bool { got = append(got, srv.take()...); return len(got) >= 5 }) {
		t.Fatalf("only %d requests in 30s at a 10ms interval", len(got))
	}
	for _, s := range got {
		if s.method != "GET" || s.path != "/tasks.git/info/refs" {
			t.Fatalf("an unchanged remote cost %s %s; want only GET /tasks.git/info/refs", s.method, s.path)
		}
	}
	if now := r.reg.Snapshot().Generation; now != gen {
		t.Errorf("unchanged polls made new snapshots: generation %d, then %d", gen, now)
	}
}

// TestRemoteDown: while the remote is gone the tasks stay and the source
// says why; a restart with the remote still gone serves the commit kept
// in the cache.
func TestRemoteDown(t *testing.T) {
	srv := newGitServer(t, "")
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0").Under("add"))
	first := repo.commit("first")
	cache := t.TempDir()
	r := start(t, Config{URL: srv.url("tasks"), CacheDir: cache})
	r.waitFor(t, "the first load", servedRevision(first))

	srv.Close()
	snap := r.waitFor(t, "the failure", func(s *registry.Snapshot) bool { return s.Sources()[0].Status == registry.StatusDegraded })
	st := snap.Sources()[0]
	if !strings.Contains(st.Error, srv.url("tasks")) || !strings.Contains(st.Error, "connection refused") {
		t.Errorf("error: got %q, want the URL and why", st.Error)
	}
	if _, ok := snap.Task(registrytest.ID1, "1.0.0"); !ok {
		t.Errorf("the last good tasks went away with the remote")
	}
	r.stop()

	again := start(t, Config{URL: srv.url("tasks"), CacheDir: cache})
	snap = again.waitFor(t, "the restart", servedRevision(first))
	if _, ok := snap.Task(registrytest.ID1, "1.0.0"); !ok {
		t.Fatalf("the cached commit is not served after a restart; errors: %v", snap.Errors())
	}
	if st := snap.Sources()[0]; st.Status != registry.StatusDegraded || !strings.Contains(st.Error, "serving commit "+first[:7]+" from the cache") {
		t.Errorf("source after the restart: got %s %q", st.Status, st.Error)
	}
}

// TestRefs: a tag, a pinned commit, and a ref or folder that is not there.
func TestRefs(t *testing.T) {
	srv := newGitServer(t, "")
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0"))
	first := repo.commit("first")
	repo.run(repo.dir, "tag", "-a", "-m", "release", "v1")
	repo.run(repo.dir, "push", "-q", "origin", "v1")
	repo.write(registrytest.Task(registrytest.ID1, "2.0.0"))
	second := repo.commit("second")

	for _, tc := range []struct {
		name, ref, path string
		want            string // the revision served, or
		err             string // the source's error
	}{
		{"branch", "main", "", second, ""},
		{"head", "", "", second, ""},
		{"annotated tag", "v1", "", first, ""},
		{"commit", first, "", first, ""},
		{"missing ref", "nope", "", "", `ref "nope" not found (branches: main)`},
		{"missing folder", "main", "tasks", "", "@" + second[:7] + ": folder tasks: directory not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, Config{URL: srv.url("tasks"), Ref: tc.ref, Path: tc.path})
			if tc.want != "" {
				r.waitFor(t, "the ref", servedRevision(tc.want))
				return
			}
			snap := r.waitFor(t, "the error", func(s *registry.Snapshot) bool { return s.Sources()[0].Error != "" })
			if st := snap.Sources()[0]; st.Status != registry.StatusError || !strings.Contains(st.Error, tc.err) || !strings.Contains(st.Error, srv.url("tasks")) {
				t.Errorf("got %s %q, want an error naming the remote and %q", st.Status, st.Error, tc.err)
			}
		})
	}
}

// TestCredentials: the token goes, as HTTP basic auth, to the configured
// host only; a redirect to another host does not carry it; a wrong token
// is an error that says so without showing the token.
func TestCredentials(t *testing.T) {
	const token = "s3cr3t-t0ken"
	srv := newGitServer(t, token)
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0"))
	first := repo.commit("first")

	t.Run("sent to its host", func(t *testing.T) {
		r := start(t, Config{URL: srv.url("tasks"), Token: token})
		r.waitFor(t, "the first load", servedRevision(first))
		for _, s := range srv.take() {
			if !strings.HasPrefix(s.auth, "Basic ") {
				t.Errorf("%s %s went without the token", s.method, s.path)
			}
		}
		if strings.Contains(r.log.String(), token) {
			t.Errorf("the token is in the log")
		}
	})
	t.Run("not sent where a redirect leads", func(t *testing.T) {
		other := newGitServer(t, "") // another origin, holding the same repository
		repo.run(other.root, "clone", "-q", "--bare", repo.bare, filepath.Join(other.root, "tasks.git"))
		var mu sync.Mutex
		var front []string
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			front = append(front, req.Header.Get("Authorization"))
			mu.Unlock()
			http.Redirect(w, req, other.URL+req.URL.RequestURI(), http.StatusFound)
		}))
		defer redirect.Close()
		r := start(t, Config{URL: redirect.URL + "/tasks.git", Token: token})
		r.waitFor(t, "the first load", servedRevision(first))
		mu.Lock()
		defer mu.Unlock()
		if len(front) == 0 || !strings.HasPrefix(front[0], "Basic ") {
			t.Errorf("the configured host did not get the token: %q", front)
		}
		for _, s := range other.take() {
			if s.auth != "" {
				t.Errorf("%s %s on the other host carried credentials", s.method, s.path)
			}
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		r := start(t, Config{URL: srv.url("tasks"), Token: "wrong-" + token})
		snap := r.waitFor(t, "the error", func(s *registry.Snapshot) bool { return s.Sources()[0].Error != "" })
		st := snap.Sources()[0]
		if !strings.Contains(st.Error, "authentication required") || strings.Contains(st.Error, token) {
			t.Errorf("got %q, want the refusal without the token", st.Error)
		}
	})
	t.Run("token in the URL is masked", func(t *testing.T) {
		u := strings.Replace(srv.url("tasks"), "://", "://x-access-token:"+token+"@", 1)
		r := start(t, Config{URL: u})
		snap := r.waitFor(t, "the first load", servedRevision(first))
		if loc := snap.Sources()[0].Location; strings.Contains(loc, token) {
			t.Errorf("location shows the token: %s", loc)
		}
		for _, task := range snap.Latest() {
			if strings.Contains(task.Path, token) {
				t.Errorf("task path shows the token: %s", task.Path)
			}
		}
	})
}

// noise is text that does not compress.
func noise(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(rand.Text())
	}
	return b.String()
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTransports: the same repository over each way git reaches one.
func TestTransports(t *testing.T) {
	srv := newGitServer(t, "")
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0").Under("tasks/add"))
	first := repo.commit("first")
	for _, tc := range []struct{ name, url string }{
		{"smart http", srv.url("tasks")},
		{"git daemon", serveDaemon(t, srv.root) + "/tasks.git"},
		{"file", "file://" + repo.bare},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, Config{URL: tc.url, Path: "tasks"})
			snap := r.waitFor(t, "the first load", servedRevision(first))
			task, ok := snap.Task(registrytest.ID1, "1.0.0")
			if !ok {
				t.Fatalf("task not served; errors: %v", snap.Errors())
			}
			if want := tc.url + "@" + first[:7] + ":tasks/add"; task.Path != want {
				t.Errorf("path: got %s, want %s", task.Path, want)
			}
		})
	}
}

// TestHostileTrees: what a repository holds cannot make the source follow
// a link, read past a cap or walk without end.
func TestHostileTrees(t *testing.T) {
	srv := newGitServer(t, "")
	deep := registrytest.Files{}
	p := "tasks"
	for range maxDepth + 2 {
		p += "/d"
	}
	deep[p+"/x.txt"] = "deep"

	for _, tc := range []struct {
		name  string
		setup func(r *repo)
		max   int64
		err   string // on the source
		task  string // or on a task's file
	}{
		{"symlinked task file", func(r *repo) {
			r.write(registrytest.Task(registrytest.ID1, "1.0.0").With("main.js", "").Under("tasks/add"))
			r.run(r.dir, "config", "core.symlinks", "true")
			if err := os.Symlink("/etc/passwd", r.dir+"/tasks/add/main.js"); err != nil {
				t.Fatal(err)
			}
		}, 0, "", "main.js is a symbolic link"},
		{"nesting", func(r *repo) { r.write(deep) }, 0, "folders nest more than 64 deep", ""},
		{"fetch over the cap", func(r *repo) {
			r.write(registrytest.Task(registrytest.ID1, "1.0.0").With("noise.txt", noise(64<<10)).Under("tasks/add"))
		}, 16 << 10, "over 16384 bytes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			r := newRepo(t, srv.root, name)
			tc.setup(r)
			r.commit("hostile")
			run := start(t, Config{URL: srv.url(name), Path: "tasks", MaxFetchBytes: tc.max})
			if tc.err != "" {
				snap := run.waitFor(t, "the error", func(s *registry.Snapshot) bool { return s.Sources()[0].Error != "" })
				if st := snap.Sources()[0]; !strings.Contains(st.Error, tc.err) {
					t.Errorf("got %q, want %q", st.Error, tc.err)
				}
				return
			}
			snap := run.waitFor(t, "the load error", func(s *registry.Snapshot) bool { return len(s.Errors()) > 0 })
			var msgs []string
			for _, e := range snap.Errors() {
				msgs = append(msgs, e.Error())
			}
			if all := strings.Join(msgs, "\n"); !strings.Contains(all, tc.task) {
				t.Errorf("errors: got %s, want %q", all, tc.task)
			}
		})
	}
}

// TestSSH: a key and a known_hosts file over a real SSH server; a host
// whose key is not the one known is refused.
func TestSSH(t *testing.T) {
	srv := newGitServer(t, "")
	repo := newRepo(t, srv.root, "tasks")
	repo.write(registrytest.Task(registrytest.ID1, "1.0.0"))
	first := repo.commit("first")
	key, pub := clientKey(t)
	ssh := newSSHServer(t, srv.root, pub)
	known := filepath.Join(t.TempDir(), "known_hosts")
	registrytest.Write(t, known, knownHosts(ssh.addr, ssh.hostKey))
	wrong := filepath.Join(t.TempDir(), "wrong_known_hosts")
	registrytest.Write(t, wrong, knownHosts(ssh.addr, pub)) // a key, but not the host's

	url := "ssh://git@" + ssh.addr + "/tasks.git"
	t.Run("known host", func(t *testing.T) {
		r := start(t, Config{URL: url, SSHKey: key, SSHKnownHosts: known})
		snap := r.waitFor(t, "the first load", servedRevision(first))
		if _, ok := snap.Task(registrytest.ID1, "1.0.0"); !ok {
			t.Fatalf("task not served over ssh; errors: %v", snap.Errors())
		}
	})
	t.Run("host key mismatch", func(t *testing.T) {
		r := start(t, Config{URL: url, SSHKey: key, SSHKnownHosts: wrong})
		snap := r.waitFor(t, "the error", func(s *registry.Snapshot) bool { return s.Sources()[0].Error != "" })
		if st := snap.Sources()[0]; !strings.Contains(st.Error, "key mismatch") || !strings.Contains(st.Error, url) {
			t.Errorf("got %q, want a key mismatch on %s", st.Error, url)
		}
	})
}

// TestEndlessAdvertisement: a remote that advertises refs without end is
// read up to MaxAdvertisementBytes and refused, naming the limit; the server
// does not take in what it sends past the cap (save what the sockets
// hold).
func TestEndlessAdvertisement(t *testing.T) {
	const limit = 1 << 20
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/info/refs") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		pkt := func(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
		sha := strings.Repeat("1", 40)
		head := pkt("# service=git-upload-pack\n") + "0000" + pkt(sha+" HEAD\x00multi_ack ofs-delta side-band-64k\n")
		if _, err := io.WriteString(w, head); err != nil {
			return
		}
		for i := 0; sent.Load() < 256<<20; i++ {
			n, err := io.WriteString(w, pkt(fmt.Sprintf("%s refs/heads/b%09d\n", sha, i)))
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	r := start(t, Config{URL: srv.URL + "/tasks.git", CacheDir: t.TempDir(), MaxAdvertisementBytes: limit})
	snap := r.waitFor(t, "the refusal", func(s *registry.Snapshot) bool { return s.Sources()[0].Error != "" })
	if st := snap.Sources()[0]; st.Status != registry.StatusError || !strings.Contains(st.Error, fmt.Sprintf("advertised over %d bytes of refs", limit)) {
		t.Errorf("source: got %s %q, want an error naming the limit", st.Status, st.Error)
	}
	r.stop()
	srv.Close()
	if n := sent.Load(); n > 32<<20 {
		t.Errorf("the remote got %d bytes out before the refusal, want about %d", n, limit)
	}
}

// TestGoGitTableUntouched: the capped HTTP client is each remote's own.
// go-git's process-wide table of protocols keeps go-git's clients, so
// that making a source changes nothing for any other user of go-git in
// the process, and two sources may have caps of their own.
func TestGoGitTableUntouched(t *testing.T) {
	for _, limit := range []int64{0, 1 << 10} {
		if _, err := New(Config{URL: "https://example.com/tasks.git", CacheDir: t.TempDir(), MaxAdvertisementBytes: limit}, 0, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	for _, scheme := range []string{"http", "https"} {
		if got := client.Protocols[scheme]; got != githttp.DefaultClient {
			t.Errorf("go-git's client for %s: got %T %p, want its own default", scheme, got, got)
		}
	}
}
