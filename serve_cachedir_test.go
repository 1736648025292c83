package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnwritableCacheDir: with registry.cache_dir where no folder can be
// made (under a regular file, which stops root too), the server still
// starts and serves its local tasks; each remote source shows in error,
// naming the cache_dir, and does not hold readiness back.
func TestUnwritableCacheDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-folder")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(file, "cache")
	cfg := filepath.Join(dir, "config.yaml")
	yaml := "registry:\n  cache_dir: " + cacheDir + "\n  sources:\n" +
		"    - {type: git, name: upstream-git, url: 'https://user:s3cretPW@127.0.0.1:1/tasks.git'}\n" +
		"    - {type: http, name: upstream-http, url: 'http://127.0.0.1:1/v1'}\n" +
		"    - {type: oci, name: upstream-oci, ref: '127.0.0.1:1/acme/tasks:stable', plain_http: true}\n" +
		"tests:\n  enabled: false\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, cmd := startProcess(t, "--config", cfg, "examples")
	p.waitReady(t)
	data := p.query(t, `{ sources { name type status error } tasks { id } }`)
	sources := data["sources"].([]any)
	if len(sources) != 4 {
		t.Fatalf("got sources %v, want 4", sources)
	}
	for _, s := range sources[:3] {
		src := s.(map[string]any)
		msg, _ := src["error"].(string)
		if src["status"] != "ERROR" || !strings.Contains(msg, "registry.cache_dir "+cacheDir+" cannot be written") {
			t.Errorf("source %v: got status %v, error %q; want ERROR naming the cache_dir", src["name"], src["status"], msg)
		}
		if strings.Contains(msg, "s3cretPW") {
			t.Errorf("source %v shows the password: %q", src["name"], msg)
		}
	}
	if local := sources[3].(map[string]any); local["status"] != "OK" {
		t.Errorf("the local source: got %v, want OK", local)
	}
	if tasks := data["tasks"].([]any); len(tasks) == 0 {
		t.Error("no local task served")
	}
	stillServing(t, p, cmd)
}
