package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// TestHostileRegistryInAProcess follows an OCI registry that turns hostile
// with the real program in a process of its own: a layer whose download
// never ends, then a tag whose manifest claims a terabyte. Each is an error
// naming the ref and the bound; the last good tasks stay; the process's
// memory stays small; it goes on serving.
func TestHostileRegistryInAProcess(t *testing.T) {
	var mode atomic.Int32 // 0 honest, 1 endless layer, 2 huge manifest
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case mode.Load() == 1 && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/"):
			// Chunked, without a length, for as long as the client reads.
			chunk := make([]byte, 64<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		case mode.Load() == 2 && r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("ab", 32))
			w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<40))
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref := srv.Listener.Addr().String() + "/acme/tasks:stable"
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"push", "--plain-http", "examples", ref}, &stdout, &stderr); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr.String())
	}
	p, cmd := startProcess(t, "--config", ociConfig(t, ref))
	p.waitReady(t)
	want := len(p.query(t, "{ tasks { id } }")["tasks"].([]any))
	if want == 0 {
		t.Fatal("no tasks before the attacks")
	}

	// A new version of a task, whose layer never ends (the others are
	// cached: only the new one is downloaded).
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	copyTree(t, filepath.Join("examples", "add"), filepath.Join(dir, "add-9"))
	meta := `{"uuid": "` + addID + `", "version": "9.0.0", "label": "Add", "description": "d"}`
	if err := os.WriteFile(filepath.Join(dir, "add-9", "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"push", "--plain-http", dir, ref}, &stdout, &stderr); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr.String())
	}
	mode.Store(1)
	waitSourceError(t, p, "1 of 7 layers could not be fetched")

	mode.Store(2)
	waitSourceError(t, p, "over the 4194304-byte limit")

	if got := len(p.query(t, "{ tasks { id } }")["tasks"].([]any)); got != want {
		t.Errorf("after the attacks: got %d tasks, want the last good %d", got, want)
	}
	peak, limit := peakRSS(t, cmd.Process.Pid), int64(256<<20)
	t.Logf("peak resident memory %d MB", peak>>20)
	if peak > limit {
		t.Errorf("peak resident memory %d MB, want under %d MB", peak>>20, limit>>20)
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the attacks: %v %v", resp, err)
	}
	resp.Body.Close()
}

// waitSourceError waits until the first source's error says want.
func waitSourceError(tb testing.TB, p *program, want string) {
	tb.Helper()
	var last string
	if !watchertest.Eventually(30*time.Second, func() bool {
		src := p.query(tb, `{ sources { error } }`)["sources"].([]any)[0].(map[string]any)
		last, _ = src["error"].(string)
		return strings.Contains(last, want)
	}) {
		tb.Fatalf("source error is %q, want it to say %q", last, want)
	}
}
