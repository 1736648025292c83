package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// catalogue renders what a registry serves, for comparing two of them.
func catalogue(tb testing.TB, p *program) string {
	tb.Helper()
	data := p.query(tb, `{ tasks { id version label description availableVersions digest } }`)
	return fmt.Sprint(data["tasks"])
}

func httpConfig(tb testing.TB, url string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "pull.yaml")
	cfg := fmt.Sprintf("watch:\n  mode: off\nregistry:\n  cache_dir: %s\n  sources:\n    - type: http\n      url: %s\n      interval: 1s\n      timeout: 2s\n",
		filepath.Join(tb.TempDir(), "cache"), url)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func sourceStatus(tb testing.TB, p *program) (string, string) {
	tb.Helper()
	src := p.query(tb, `{ sources { status error } }`)["sources"].([]any)[0].(map[string]any)
	e, _ := src["error"].(string)
	return src["status"].(string), e
}

// TestTwoRegistries runs a central registry and a second one pulling from
// it over HTTP, then changes, stops and restarts the central one.
func TestTwoRegistries(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	central := start(t, dir)
	central.waitReady(t)
	edgeConfig := httpConfig(t, central.url+"/v1")
	edge := start(t, "--config", edgeConfig)
	edge.waitReady(t)
	want := catalogue(t, central)
	if got := catalogue(t, edge); got != want {
		t.Fatalf("edge serves\n%s\nwant\n%s", got, want)
	}
	if st, _ := sourceStatus(t, edge); st != "OK" {
		t.Errorf("got status %s", st)
	}

	// A change on the central registry reaches the edge within an interval.
	meta := filepath.Join(dir, "add", "metadata.json")
	if err := os.WriteFile(meta, []byte(`{"uuid": "`+addID+`", "version": "1.0.0", "label": "Pulled", "description": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool { return strings.Contains(catalogue(t, edge), "label:Pulled") })
	if got, want := catalogue(t, edge), catalogue(t, central); got != want {
		t.Errorf("after the change, edge serves\n%s\nwant\n%s", got, want)
	}

	// The central registry goes away: the edge keeps serving, degraded.
	addr := strings.TrimPrefix(central.url, "http://")
	central.stop(t)
	eventually(t, 10*time.Second, func() bool { st, _ := sourceStatus(t, edge); return st == "DEGRADED" })
	if got := catalogue(t, edge); !strings.Contains(got, "label:Pulled") || strings.Count(got, "id:") != 4 {
		t.Errorf("edge lost its tasks: %s", got)
	}
	if _, e := sourceStatus(t, edge); !strings.Contains(e, "connection refused") {
		t.Errorf("got error %q, want it to say what happened", e)
	}
	fetches := scrape(t, edge)
	name := `ratchet_registry_source_fetches_total{result="%s",source="` + central.url + `/v1/"}`
	if fetches[fmt.Sprintf(name, "failed")] < 1 || fetches[fmt.Sprintf(name, "changed")] < 2 {
		t.Errorf("fetch metrics: failed %v, changed %v", fetches[fmt.Sprintf(name, "failed")], fetches[fmt.Sprintf(name, "changed")])
	}

	// The edge restarts while the central registry is still down: it serves
	// the index it saved and the bundles it cached.
	edge.stop(t)
	edge = start(t, "--config", edgeConfig)
	edge.waitReady(t)
	if got := catalogue(t, edge); !strings.Contains(got, "label:Pulled") || strings.Count(got, "id:") != 4 {
		t.Errorf("restarted edge serves %s", got)
	}
	if st, e := sourceStatus(t, edge); st != "DEGRADED" || !strings.Contains(e, "serving the index saved") {
		t.Errorf("restarted edge: status %s, error %q", st, e)
	}

	// It comes back on the same address: the edge recovers by itself.
	revived := start(t, "--addr", addr, dir)
	revived.waitReady(t)
	eventually(t, 15*time.Second, func() bool { st, _ := sourceStatus(t, edge); return st == "OK" })
	if got, want := catalogue(t, edge), catalogue(t, revived); got != want {
		t.Errorf("after recovery, edge serves\n%s\nwant\n%s", got, want)
	}
}

// TestIndexOnStaticHost writes an index with the index command, serves it
// with http.FileServer, and pulls from it.
func TestIndexOnStaticHost(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run(t.Context(), []string{"index", "examples", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("index exited %d: %s", code, stderr.String())
	}
	host := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer host.Close()
	local := start(t, "examples")
	local.waitReady(t)
	pulled := start(t, "--config", httpConfig(t, host.URL))
	pulled.waitReady(t)
	if got, want := catalogue(t, pulled), catalogue(t, local); got != want {
		t.Errorf("pulled from static host:\n%s\nwant\n%s", got, want)
	}
	// The same tree indexed twice gives the same bytes.
	again := t.TempDir()
	run(t.Context(), []string{"index", "examples", "--out", again}, &stdout, &stderr)
	a, _ := os.ReadFile(filepath.Join(out, "index.json"))
	b, _ := os.ReadFile(filepath.Join(again, "index.json"))
	if string(a) != string(b) {
		t.Errorf("index is not deterministic")
	}
	// A broken tree is refused, naming the problems.
	stderr.Reset()
	if code := run(t.Context(), []string{"index", "testdata/catalogue", "--out", t.TempDir()}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "broken-script/main.js:2:30") {
		t.Errorf("got %d: %s", code, stderr.String())
	}
}

// TestIndexEndpoint: /v1/index.json answers 304 to its own ETag, and the
// bundles it lists are there with the digest it gives.
func TestIndexEndpoint(t *testing.T) {
	p := start(t, "examples")
	p.waitReady(t)
	resp, err := http.Get(p.url + "/v1/index.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", p.url+"/v1/index.json", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("got %d for ETag %q, want 304", resp.StatusCode, etag)
	}
	resp, err = http.Get(p.url + "/v1/tasks/" + addID + "/9.9.9.zip")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("got %d for an unknown version, want 404", resp.StatusCode)
	}
}
