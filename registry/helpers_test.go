package registry

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// files is a task tree: path to content.
type files map[string]string

// taskFiles is a valid task with the given identity.
func taskFiles(id, version string) files {
	return files{
		"metadata.json":      fmt.Sprintf("{\n  \"uuid\": %q,\n  \"version\": %q,\n  \"label\": \"Task %s\",\n  \"description\": \"d\"\n}\n", id, version, version),
		"input.schema.json":  `{"type": "object", "properties": {"a": {"type": "number"}}}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            "(function(input) { return {}; })\n",
		"tests/one.json":     `{"input": {"a": 1}, "expected_output": {}}`,
	}
}

// with returns a copy with some files replaced; an empty string deletes.
func (f files) with(kv ...string) files {
	out := files{}
	for k, v := range f {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// under prefixes every path with dir.
func (f files) under(dir string) files {
	out := files{}
	for k, v := range f {
		out[dir+"/"+k] = v
	}
	return out
}

func writeTree(tb testing.TB, dir string, f files) {
	tb.Helper()
	for name, content := range f {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func zipBytes(tb testing.TB, f files) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(f) {
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

func sortedKeys(f files) []string { return slices.Sorted(maps.Keys(f)) }

// loadDir loads one filesystem source into a fresh registry.
func loadDir(tb testing.TB, dirs ...string) *Snapshot {
	tb.Helper()
	reg := New(time.Now, nil)
	for i, d := range dirs {
		src, err := NewFSSource(d, d, i)
		if err != nil {
			tb.Fatal(err)
		}
		idx := reg.AddSource(src)
		res, err := src.Scan(context.Background())
		reg.Apply(Update{Source: idx, Full: true, Results: res, Err: err})
	}
	return reg.Snapshot()
}

// listing renders a snapshot as text, for comparisons.
func listing(s *Snapshot) string {
	var b strings.Builder
	for _, e := range s.Entries() {
		for _, t := range e.Versions {
			fmt.Fprintf(&b, "%s %s %s %s %s stale=%v latest=%v\n", t.ID, t.Version, t.Label, t.Path, t.Digest, t.Stale, t == e.Latest)
		}
	}
	for _, e := range s.Errors() {
		fmt.Fprintf(&b, "error %s %s\n", e.Kind, e)
	}
	for _, c := range s.Conflicts() {
		fmt.Fprintf(&b, "conflict %s\n", c)
	}
	return b.String()
}

const (
	id1 = "11111111-1111-4111-8111-111111111111"
	id2 = "22222222-2222-4222-8222-222222222222"
)
