package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The program in the test process starts this binary as its test
	// workers; here it becomes one.
	if len(os.Args) > 1 && os.Args[1] == "__test-worker" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// A test that needs the program as a process of its own (one that a
	// hostile task must not be able to bring down) starts this binary so.
	if os.Getenv(asProgram) == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	// The program keeps verdicts and bundles in the user's cache folder by
	// default: tests keep theirs in a folder of their own, so that no run
	// sees what an earlier one left there.
	cache, err := os.MkdirTemp("", "ratchet-registry-cache-")
	if err != nil {
		panic(err)
	}
	// The go command keeps its build cache under the same folder unless
	// GOCACHE says otherwise: pin it first, so that a test that builds the
	// binary links from the shared cache instead of compiling every package
	// again (three minutes under -race on two cores).
	if os.Getenv("GOCACHE") == "" {
		if user, err := os.UserCacheDir(); err == nil {
			os.Setenv("GOCACHE", filepath.Join(user, "go-build"))
		}
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	headless.stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(cache)
	os.Exit(code)
}

// program is the real program running in the test process.
type program struct {
	url    string
	cancel context.CancelFunc
	done   chan int
	logs   *watchertest.Log // what it logs while it runs
}

// listening finds the address in text or JSON logs.
var listening = regexp.MustCompile(`msg"?[=:]"?listening"?[ ,]"?addr"?[=:]"?([0-9.:]+)`)

// start runs `ratchet-registry serve` with args on 127.0.0.1:0 and waits
// for the address it logs.
func start(tb testing.TB, args ...string) *program {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &program{cancel: cancel, done: make(chan int, 1), logs: &watchertest.Log{}}
	go func() {
		p.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), io.Discard, p.logs)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(p.logs.String()); m != nil {
			p.url = "http://" + m[1]
			break
		}
		select {
		case code := <-p.done:
			tb.Fatalf("program exited with %d before listening:\n%s", code, p.logs)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if p.url == "" {
		tb.Fatalf("program did not log its address:\n%s", p.logs)
	}
	tb.Cleanup(func() { p.stop(tb) })
	return p
}

// stop shuts the program down as SIGTERM would and checks it exits 0.
func (p *program) stop(tb testing.TB) {
	tb.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case code := <-p.done:
		if code != 0 {
			tb.Errorf("program exited with %d:\n%s", code, p.logs)
		}
	case <-time.After(15 * time.Second):
		tb.Fatalf("program did not stop:\n%s", p.logs)
	}
}

// waitReady polls /readyz until the first load is done.
func (p *program) waitReady(tb testing.TB) {
	tb.Helper()
	eventually(tb, 10*time.Second, func() bool {
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// query posts a GraphQL query and returns the data, failing on errors.
func (p *program) query(tb testing.TB, q string) map[string]any {
	tb.Helper()
	out := p.raw(tb, q)
	if out["errors"] != nil {
		tb.Fatalf("query %s: errors %v", q, out["errors"])
	}
	data, _ := out["data"].(map[string]any)
	return data
}

func (p *program) raw(tb testing.TB, q string) map[string]any {
	tb.Helper()
	body, _ := json.Marshal(map[string]string{"query": q})
	resp, err := http.Post(p.url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, within time.Duration, cond func() bool) {
	tb.Helper()
	if !watchertest.Eventually(within, cond) {
		tb.Fatalf("condition not met within %s", within)
	}
}

// copyTree copies a folder of test inputs into a scratch folder that the
// test may change.
func copyTree(tb testing.TB, from, to string) {
	tb.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if rel == "." && !info.IsDir() {
			dst = to
		}
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestInvokedAs: the command that `new` suggests is the one its user
// typed: under go run, the binary is a temporary file, gone at exit.
func TestInvokedAs(t *testing.T) {
	tests := []struct{ arg0, want string }{
		{"/tmp/go-build1234567/b001/exe/ratchet-registry", "go run ."},
		{"/home/me/.cache/tmp/go-build99/b001/exe/ratchet-registry", "go run ."},
		{"./ratchet-registry", "./ratchet-registry"},
		{"bin/ratchet-registry", "bin/ratchet-registry"},
		{"ratchet-registry", "ratchet-registry"},
		{"/usr/local/bin/ratchet-registry", "ratchet-registry"},
		{"/opt/exe/ratchet-registry", "ratchet-registry"},
	}
	for _, tc := range tests {
		if got := invokedAs(tc.arg0); got != tc.want {
			t.Errorf("invokedAs(%q): got %q, want %q", tc.arg0, got, tc.want)
		}
	}
}
