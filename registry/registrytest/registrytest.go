// Package registrytest writes real task trees and archives for the tests of
// the registry and its sources. It imports nothing of the registry, so that
// the registry's own tests can use it.
package registrytest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// Two task identities for tests.
const (
	ID1 = "11111111-1111-4111-8111-111111111111"
	ID2 = "22222222-2222-4222-8222-222222222222"
)

// Files is a task tree: slash path to content.
type Files map[string]string

// Task is a valid task with the given identity.
func Task(id, version string) Files {
	return Files{
		"metadata.json":      fmt.Sprintf("{\n  \"uuid\": %q,\n  \"version\": %q,\n  \"label\": \"Task %s\",\n  \"description\": \"d\"\n}\n", id, version, version),
		"input.schema.json":  `{"type": "object", "properties": {"a": {"type": "number"}}}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            "(function(input) { return {}; })\n",
		"tests/one.json":     `{"input": {"a": 1}, "expected_output": {}}`,
	}
}

// With returns a copy with some files replaced; an empty string deletes.
func (f Files) With(kv ...string) Files {
	out := maps.Clone(f)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// Under prefixes every path with dir.
func (f Files) Under(dir string) Files {
	out := Files{}
	for k, v := range f {
		out[dir+"/"+k] = v
	}
	return out
}

// Merge is the union of trees; later ones win.
func Merge(fs ...Files) Files {
	out := Files{}
	for _, f := range fs {
		maps.Copy(out, f)
	}
	return out
}

// WriteTree writes f under dir.
func WriteTree(tb testing.TB, dir string, f Files) {
	tb.Helper()
	for name, content := range f {
		watchertest.Write(tb, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
}

// Write saves one file, making its folders: the one way every test here
// and in the watcher saves a file.
func Write(tb testing.TB, p, content string) {
	tb.Helper()
	watchertest.Write(tb, p, content)
}

// ZipBytes packs f as a zip, entries in name order.
func ZipBytes(tb testing.TB, f Files) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(f)) {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(f[name])); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// WriteGenerated writes n distinct tasks, spread over folders of 100 the
// way a real collection is organised.
func WriteGenerated(tb testing.TB, dir string, n int) {
	tb.Helper()
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		f := Task(id, "1.0.0")
		f["input.schema.json"] = fmt.Sprintf(`{"type": "object", "properties": {"a%d": {"type": "number"}}}`, i)
		WriteTree(tb, filepath.Join(dir, fmt.Sprintf("g%03d", i/100), fmt.Sprintf("task%05d", i)), f)
	}
}

// GeneratedTree is a tree of n generated tasks kept between benchmark runs
// in the system's temporary folder, since writing 10,000 tasks takes longer
// than most benchmarks.
func GeneratedTree(b *testing.B, n int) string {
	b.Helper()
	return kept(b, fmt.Sprintf("ratchet-bench-%d", n), "done", func(dir string) { WriteGenerated(b, dir, n) })
}
