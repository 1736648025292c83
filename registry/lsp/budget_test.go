package lsp

import (
	"runtime"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// allocated is the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLocateDeepIsCheap: the place at the end of a document of nothing
// but brackets, at the size limit of one file, is past the loader's
// nesting bound and costs next to nothing; the path to it used to cost
// memory in proportion to the text (about 600 MB and 14 s of a hover).
func TestLocateDeepIsCheap(t *testing.T) {
	for _, open := range []string{"[", `{"a":`} {
		text := strings.Repeat(open, int(taskformat.MaxFileSize)/len(open))
		var sp spot
		if n := allocated(func() { sp = locate(text, len(text)) }); n > 1<<20 {
			t.Errorf("locate at the end of %d bytes of %q allocated %d bytes, want under 1 MiB", len(text), open, n)
		}
		if !sp.deep || len(sp.path) != 0 {
			t.Errorf("%q: got deep %v and a path of %d keys, want a deep place and no path", open, sp.deep, len(sp.path))
		}
		// At the bound itself the place is still answered.
		at := strings.Repeat(open, taskformat.MaxNesting)
		if sp := locate(at, len(at)); sp.deep || len(sp.path) != taskformat.MaxNesting-1 {
			t.Errorf("%q at the nesting bound: got deep %v, a path of %d keys; want %d keys", open, sp.deep, len(sp.path), taskformat.MaxNesting-1)
		}
	}
}

// TestLineStartSkipsBlocks: lines found by skipping whole blocks are the
// lines found one at a time, at and around the blocks' edges.
func TestLineStartSkipsBlocks(t *testing.T) {
	naive := func(text string, line int) int {
		off := 0
		for ; line > 0; line-- {
			i := strings.IndexByte(text[off:], '\n')
			if i < 0 {
				return len(text)
			}
			off += i + 1
		}
		return off
	}
	for _, text := range []string{
		strings.Repeat("\n", 10000),
		strings.Repeat("abc\n", 3000),
		strings.Repeat("x", 4095) + "\n" + strings.Repeat("y", 4097) + "\nz",
		strings.Repeat("é\r\n", 5000),
	} {
		for line := 0; line < 10010; line += 7 {
			if got, want := lineStart(text, line), naive(text, line); got != want {
				t.Fatalf("line %d of a text of %d bytes: got %d, want %d", line, len(text), got, want)
			}
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		n    int
		want string
	}{
		{"a/b/c/d.json", 2, "a/b/c"},
		{"a/b/c/d.json", 3, "a/b/c/d.json"},
		{"a/b/c/d.json", 9, "a/b/c/d.json"},
		{"a", 0, "a"},
		{"a/b", 0, "a"},
		{".", 0, "."},
	} {
		if got := within(tc.rel, tc.n); got != tc.want || depth(got) > tc.n {
			t.Errorf("within(%q, %d) = %q, want %q", tc.rel, tc.n, got, tc.want)
		}
	}
}
