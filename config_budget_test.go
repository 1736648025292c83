package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry/gitsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/httpsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/ocisource"
)

// TestBudgetKeys: the defaults the table shows are the sources' own, a
// value set reaches the source, and a negative one is refused at its line.
func TestBudgetKeys(t *testing.T) {
	for key, want := range map[string]int64{
		"registry.sources[].max_load_bytes": gitsource.DefaultMaxLoadBytes,
		"registry.sources[].max_task_bytes": taskformat.MaxTotalSize,
	} {
		if got, _ := strconv.ParseInt(defaultValue(key), 10, 64); got != want {
			t.Errorf("%s: the table says %d, the source uses %d", key, got, want)
		}
	}
	if httpsource.DefaultMaxLoadBytes != gitsource.DefaultMaxLoadBytes || ocisource.DefaultMaxLoadBytes != gitsource.DefaultMaxLoadBytes {
		t.Error("the sources' default max_load_bytes differ, while one key documents them")
	}
	cfg := defaultConfig()
	cfg.Registry.CacheDir = t.TempDir()
	deps := cfg.sourceDeps(taskformat.NewLoader(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	h, err := (&httpsource.Settings{URL: "http://127.0.0.1:1/v1", MaxLoadBytes: 12345}).Open(0, deps)
	if err != nil {
		t.Fatal(err)
	}
	o, err := (&ocisource.Settings{Ref: "127.0.0.1:1/a/b:c", MaxLoadBytes: 12345}).Open(1, deps)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.(*httpsource.Source).MaxLoadBytes; got != 12345 {
		t.Errorf("http source: got %d, want 12345", got)
	}
	if got := o.(*ocisource.Source).MaxLoadBytes; got != 12345 {
		t.Errorf("oci source: got %d, want 12345", got)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("registry:\n  sources:\n    - type: git\n      url: https://host/x.git\n      max_task_bytes: -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = loadConfig(path)
	if want := path + ":5: registry.sources[0].max_task_bytes: is -1: want a number of bytes, or 0 for the default"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
