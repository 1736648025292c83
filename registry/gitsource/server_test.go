package gitsource

import (
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// gitBinary finds git, which the tests use as the real server and to
// make repositories (the source itself never runs it). Without it the
// tests skip, except in CI, where a missing tool is a failure.
func gitBinary(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("git is needed for the git source tests: %v", err)
		}
		tb.Skipf("git is not installed: %v", err)
	}
	return p
}

// gitServer is git's own smart HTTP server (git http-backend, run as CGI)
// on 127.0.0.1, serving the bare repositories under root. It counts what
// it is asked and, when token is set, answers 401 to anyone without it.
type gitServer struct {
	*httptest.Server
	root  string
	token string

	mu       sync.Mutex
	requests []seen
}

type seen struct {
	method, path, auth string
}

func newGitServer(tb testing.TB, token string) *gitServer {
	tb.Helper()
	exe := gitBinary(tb)
	out, err := exec.Command(exe, "--exec-path").Output()
	if err != nil {
		tb.Fatalf("git --exec-path: %v", err)
	}
	s := &gitServer{root: tb.TempDir(), token: token}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + s.root},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, seen{r.Method, r.URL.Path, r.Header.Get("Authorization")})
		s.mu.Unlock()
		if s.token != "" {
			if _, pass, ok := r.BasicAuth(); !ok || pass != s.token {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	tb.Cleanup(s.Close)
	return s
}

// seen returns the requests so far and forgets them.
func (s *gitServer) take() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = nil
	return out
}

// url of a repository on this server.
func (s *gitServer) url(name string) string { return s.Server.URL + "/" + name + ".git" }

// repo is a working repository whose commits are pushed to a bare one
// that a server serves.
type repo struct {
	tb   testing.TB
	git  string
	dir  string
	bare string
}

func newRepo(tb testing.TB, root, name string) *repo {
	tb.Helper()
	r := &repo{tb: tb, git: gitBinary(tb), dir: tb.TempDir(), bare: filepath.Join(root, name+".git")}
	r.run(root, "init", "-q", "--bare", "-b", "main", r.bare)
	// A commit may be fetched by its hash, as GitHub and GitLab allow.
	r.run(r.bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
	r.run(r.dir, "init", "-q", "-b", "main")
	r.run(r.dir, "remote", "add", "origin", r.bare)
	return r
}

func (r *repo) run(dir string, args ...string) string {
	r.tb.Helper()
	cmd := exec.Command(r.git, append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// write sets files (path to content; "" deletes) in the work tree.
func (r *repo) write(f registrytest.Files) {
	r.tb.Helper()
	for name, content := range f {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.RemoveAll(p); err != nil {
				r.tb.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.tb.Fatal(err)
		}
	}
}

// commit records the work tree and pushes it; amend rewrites the last
// commit and force-pushes, as a force-push does to a branch.
func (r *repo) commit(msg string) string {
	r.tb.Helper()
	r.run(r.dir, "add", "-A")
	r.run(r.dir, "commit", "-q", "--allow-empty", "-m", msg)
	r.run(r.dir, "push", "-q", "origin", "HEAD:main")
	return r.run(r.dir, "rev-parse", "HEAD")
}

func (r *repo) amend(msg string) string {
	r.tb.Helper()
	r.run(r.dir, "add", "-A")
	r.run(r.dir, "commit", "-q", "--amend", "--allow-empty", "-m", msg)
	r.run(r.dir, "push", "-q", "-f", "origin", "HEAD:main")
	return r.run(r.dir, "rev-parse", "HEAD")
}

// serveDaemon serves root over git:// with git's own daemon, started per
// connection in inetd mode, so that it listens on a port of our choosing
// (127.0.0.1:0) instead of a fixed one. It returns the base URL.
func serveDaemon(tb testing.TB, root string) string {
	tb.Helper()
	exe := gitBinary(tb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				cmd := exec.Command(exe, "daemon", "--inetd", "--export-all", "--base-path="+root, root)
				cmd.Stdin, cmd.Stdout = conn, conn
				_ = cmd.Run()
			}()
		}
	}()
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	return "git://" + ln.Addr().String()
}
