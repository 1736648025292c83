package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// ociRegistry is a real OCI registry on loopback that counts requests.
type ociRegistry struct {
	addr     string
	mu       sync.Mutex
	requests int
}

func startOCIRegistry(tb testing.TB) *ociRegistry {
	tb.Helper()
	r := &ociRegistry{}
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests++
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	tb.Cleanup(srv.Close)
	r.addr = srv.Listener.Addr().String()
	return r
}

func (r *ociRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func ociConfig(tb testing.TB, ref string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "edge.yaml")
	cfg := fmt.Sprintf("watch:\n  mode: off\nregistry:\n  cache_dir: %s\n  sources:\n    - type: oci\n      ref: %s\n      plain_http: true\n      interval: 1s\n",
		filepath.Join(tb.TempDir(), "cache"), ref)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestPushAndFollow publishes the examples to an OCI registry with push and
// serves them from there with an oci source: the edge serves what a
// registry reading the folder serves.
func TestPushAndFollow(t *testing.T) {
	reg := startOCIRegistry(t)
	ref := reg.addr + "/acme/tasks:stable"
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"push", "--plain-http", "examples", ref}, &stdout, &stderr); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr.String())
	}
	if want := "6 task versions, 6 uploaded, 0 already there"; !strings.Contains(stdout.String(), want) {
		t.Errorf("push said %q, want %q", stdout.String(), want)
	}
	// Again, flags after the paths: nothing new to upload.
	stdout.Reset()
	if code := run(context.Background(), []string{"push", "examples", ref, "--plain-http"}, &stdout, &stderr); code != 0 {
		t.Fatalf("push again: exit %d\n%s", code, stderr.String())
	}
	if want := "0 uploaded, 6 already there"; !strings.Contains(stdout.String(), want) {
		t.Errorf("push again said %q, want %q", stdout.String(), want)
	}

	central := start(t, "examples")
	central.waitReady(t)
	edge := start(t, "--config", ociConfig(t, ref))
	edge.waitReady(t)
	if got, want := catalogue(t, edge), catalogue(t, central); got != want {
		t.Fatalf("edge serves\n%s\nwant\n%s", got, want)
	}
	// The revision shown is the manifest digest that push printed.
	digest := regexp.MustCompile(`@(sha256:[0-9a-f]{64}):`).FindStringSubmatch(stdout.String())
	if digest == nil {
		t.Fatalf("push printed no digest: %q", stdout.String())
	}
	src := edge.query(t, `{ sources { type location status revision } }`)["sources"].([]any)[0].(map[string]any)
	if src["type"] != "oci" || src["location"] != ref || src["status"] != "OK" || src["revision"] != digest[1] {
		t.Errorf("got source %v, want oci %s OK at %s", src, ref, digest[1])
	}
}

func TestPushRefuses(t *testing.T) {
	reg := startOCIRegistry(t)
	ref := reg.addr + "/acme/tasks:stable"
	broken := t.TempDir()
	copyTree(t, "examples", broken)
	meta := filepath.Join(broken, "add", "metadata.json")
	if err := os.WriteFile(meta, []byte(`{"uuid": "`+addID+`", "version": "v1.0.0", "label": "Add"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RATCHET_TEST_TOKEN", "")
	// An address where nothing listens: taken, then given back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "broken tree", args: []string{"push", "--plain-http", broken, ref}, wantCode: 1, wantStderr: meta},
		{name: "no target", args: []string{"push", "examples"}, wantCode: 2, wantStderr: "REGISTRY/REPOSITORY:TAG"},
		{name: "a digest", args: []string{"push", "examples", reg.addr + "/acme/tasks@sha256:" + strings.Repeat("a", 64)}, wantCode: 2, wantStderr: "is not REGISTRY/REPOSITORY:TAG"},
		{name: "no tag", args: []string{"push", "examples", reg.addr + "/acme/tasks"}, wantCode: 2, wantStderr: "is not REGISTRY/REPOSITORY:TAG"},
		{name: "unknown flag", args: []string{"push", "examples", ref, "--insecure"}, wantCode: 2, wantStderr: "unknown flag --insecure"},
		{name: "password from an unset variable", args: []string{"push", "--username", "ci", "--password-env", "RATCHET_TEST_TOKEN", "examples", ref}, wantCode: 2, wantStderr: "RATCHET_TEST_TOKEN, which is not set"},
		{name: "no registry running", args: []string{"push", "--plain-http", "examples", nobody + "/acme/tasks:stable"}, wantCode: 1,
			wantStderr: "push: cannot push to " + nobody + "/acme/tasks:stable: nothing answers at " + nobody + " (connection refused): is the registry running, and is the address right?\n"},
		{name: "plain HTTP without --plain-http", args: []string{"push", "examples", ref}, wantCode: 1,
			wantStderr: "push: cannot push to " + ref + ": the registry at " + reg.addr + " speaks plain HTTP, not HTTPS: add --plain-http\n"},
		{name: "username alone", args: []string{"push", "--username", "ci", "examples", ref}, wantCode: 2, wantStderr: "go together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got exit %d with\n%s\nwant %d with %q", code, stderr.String(), tc.wantCode, tc.wantStderr)
			}
		})
	}
	if n := reg.count(); n != 0 {
		t.Errorf("the registry got %d requests, want none", n)
	}
}
