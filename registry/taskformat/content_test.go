package taskformat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContentKeepsWithinItsBudget: a script read is kept, so that it is
// served again without the disk; another read past the budget pushes out
// the one used longest ago, which then comes from the disk again, checked
// against its digest. The budget counts each entry's key and bookkeeping,
// not only its bytes.
func TestContentKeepsWithinItsBudget(t *testing.T) {
	dir := t.TempDir()
	scriptA := "(function(input) { return {a: 1}; })\n" + strings.Repeat("// a\n", 200)
	scriptB := "(function(input) { return {b: 2}; })\n" + strings.Repeat("// b\n", 200)
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").With("main.js", scriptA).Under("a"),
		taskFiles(id2, "1.0.0").With("main.js", scriptB).Under("b")))
	snap := loadDir(t, dir)
	a, _ := snap.Task(id1, "1.0.0")
	b, _ := snap.Task(id2, "1.0.0")

	for _, tc := range []struct {
		name   string
		budget int64
		keepsA bool // after A, then B, were read
	}{
		{"room for one", int64(len(scriptA)) + 512, false},
		{"room for both", 2 * (int64(len(scriptA)) + 512), true},
		{"the bytes alone, no room for the key", int64(len(scriptA)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeTree(t, dir, files{"a/main.js": scriptA})
			c := NewContent(tc.budget)
			if got, err := c.Script(a); err != nil || got != scriptA {
				t.Fatalf("script a: %q, %v", got, err)
			}
			if got, err := c.Script(b); err != nil || got != scriptB {
				t.Fatalf("script b: %q, %v", got, err)
			}
			if err := os.Remove(filepath.Join(dir, "a", "main.js")); err != nil {
				t.Fatal(err)
			}
			got, err := c.Script(a)
			if tc.keepsA {
				if err != nil || got != scriptA {
					t.Errorf("script a after its file went: %q, %v; want it from memory", got, err)
				}
			} else if err == nil || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "main.js") {
				t.Errorf("script a after its file went: %q, %v; want it read from the disk again, and missing", got, err)
			}
			if n := c.cache.Bytes(); n > tc.budget {
				t.Errorf("content keeps %d bytes, over its budget of %d", n, tc.budget)
			}
		})
	}
}
