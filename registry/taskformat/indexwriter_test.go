package taskformat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestIndexWriter: the one writer of index.json writes what
// json.MarshalIndent of the Index gives, cold and after a change, bundles
// only what it has not listed before, and leaves out (and names) a task
// whose bundle fails.
func TestIndexWriter(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"add", "greet", "weather", "uppercase.zip"} {
		copyExample(t, filepath.Join("..", "..", "examples", name), filepath.Join(dir, name))
	}
	content := NewContent(0)
	var w IndexWriter
	bundled := 0
	bundle := func(t *registry.Task) (Bundle, error) { bundled++; return content.Bundle(t) }
	check := func(snap *registry.Snapshot, wantBundled int) {
		t.Helper()
		bundled = 0
		got, errs := w.Write(snap, bundle)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		idx, errs := BuildIndex(snap, content.Bundle)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		want, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("index:\n%s\nwant json.MarshalIndent's:\n%s", got, want)
		}
		if bundled != wantBundled {
			t.Errorf("bundled %d tasks, want %d", bundled, wantBundled)
		}
	}
	snap := loadDir(t, dir)
	versions := snap.VersionCount()
	check(snap, versions)
	check(snap, 0) // nothing changed: every entry copied

	meta := filepath.Join(dir, "add", "metadata.json")
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, []byte(strings.Replace(string(data), `"label": "`, `"label": "Renamed <&> `, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	check(loadDir(t, dir), 1)

	broken := errors.New("no bundle today")
	got, errs := w.Write(snap, func(*registry.Task) (Bundle, error) { return Bundle{}, broken })
	if len(errs) != 1 || !errors.Is(errs[0], broken) || !strings.Contains(errs[0].Error(), "task ") {
		t.Fatalf("errors %v, want the one task whose bundle failed, named", errs)
	}
	var idx Index
	if err := json.Unmarshal(got, &idx); err != nil || len(idx.Tasks) != versions-1 {
		t.Fatalf("index with a failed bundle: %d tasks (%v), want %d", len(idx.Tasks), err, versions-1)
	}
}

func copyExample(tb testing.TB, from, to string) {
	tb.Helper()
	fi, err := os.Stat(from)
	if err != nil {
		tb.Fatal(err)
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(from)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		tb.Fatal(err)
	}
}
