package registry_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

func TestCollectionWalk(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(
		taskFiles(id1, "1.0.0").Under("a"),
		taskFiles(id1, "1.1.0").Under("deep/er/still/b"),
		taskFiles(id2, "1.0.0").Under(".hidden/c"),           // hidden folders are skipped
		taskFiles(id2, "2.0.0").Under("d/.git/e"),            // at any depth
		taskFiles(id2, "3.0.0").Under("a/nested"),            // inside a task: not a task of its own
		files{"notes/readme.md": "x", ".hidden.zip": "junk"}, // neither tasks nor errors
	))
	if err := os.WriteFile(filepath.Join(dir, "z.zip"), zipBytes(t, taskFiles(id1, "2.0.0-rc.1")), 0o644); err != nil {
		t.Fatal(err)
	}
	// Symlink cycles end; a symlink to a task elsewhere is followed.
	if err := os.Symlink(dir, filepath.Join(dir, "deep", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(dir, "notes", "up")); err != nil {
		t.Fatal(err)
	}
	s := loadDir(t, dir)
	if got, want := strings.Join(s.Versions(id1), " "), "1.0.0 1.1.0 2.0.0-rc.1"; got != want {
		t.Errorf("got versions %s, want %s", got, want)
	}
	if _, ok := s.Entry(id2); ok {
		t.Errorf("hidden or nested tasks were loaded:\n%s", sourcetest.Listing(s))
	}
	// The symlinks reach the same tasks again by other paths: conflicts, reported.
	for _, c := range s.Conflicts() {
		if !strings.Contains(c.Path, "loop") && !strings.Contains(c.Path, "up") {
			t.Errorf("unexpected conflict %v", c)
		}
	}
	if len(s.Errors()) != 0 {
		t.Errorf("got errors %v", s.Errors())
	}
}

// TestCollectionDeterministic builds the same tree twice in opposite orders:
// the listings must match byte for byte.
func TestCollectionDeterministic(t *testing.T) {
	tree := map[string]files{}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("%08d-0000-4000-8000-%012d", i%7, i%7)
		f := taskFiles(id, fmt.Sprintf("1.%d.0", i%4))
		if i%5 == 0 {
			f = f.With("main.js", "(function( {")
		}
		tree[fmt.Sprintf("t%02d", i)] = f
	}
	var listings [2]string
	for pass := range listings {
		dir := t.TempDir()
		for i := range 30 {
			k := i
			if pass == 1 {
				k = 29 - i
			}
			name := fmt.Sprintf("t%02d", k)
			writeTree(t, dir, tree[name].Under(name))
		}
		listings[pass] = strings.ReplaceAll(sourcetest.Listing(loadDir(t, dir)), dir, "DIR")
	}
	if listings[0] != listings[1] {
		t.Errorf("listings differ:\n%s\n---\n%s", listings[0], listings[1])
	}
	if !strings.Contains(listings[0], "conflict") || !strings.Contains(listings[0], "error") {
		t.Errorf("the tree should give conflicts and errors:\n%s", listings[0])
	}
}

func TestVersionsAndLatest(t *testing.T) {
	tests := []struct {
		name       string
		versions   []string
		wantOrder  string
		wantLatest string
	}{
		{"stable beats newer pre-release", []string{"2.0.0-rc.1", "1.2.0", "1.10.0"}, "1.2.0 1.10.0 2.0.0-rc.1", "1.10.0"},
		{"only pre-releases", []string{"1.0.0-alpha", "1.0.0-beta.2", "1.0.0-beta.11"}, "1.0.0-alpha 1.0.0-beta.2 1.0.0-beta.11", "1.0.0-beta.11"},
		{"release after its rc", []string{"2.0.0-rc.1", "2.0.0", "1.0.0"}, "1.0.0 2.0.0-rc.1 2.0.0", "2.0.0"},
		{"build metadata", []string{"1.0.0+b", "1.0.0+a"}, "1.0.0+a 1.0.0+b", "1.0.0+b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, v := range tc.versions {
				writeTree(t, dir, taskFiles(id1, v).Under(v))
			}
			s := loadDir(t, dir)
			if got := strings.Join(s.Versions(id1), " "); got != tc.wantOrder {
				t.Errorf("got %s, want %s", got, tc.wantOrder)
			}
			if got, _ := s.Task(id1, ""); got == nil || got.Version != tc.wantLatest {
				t.Errorf("got latest %v, want %s", got, tc.wantLatest)
			}
			if s.VersionCount() != len(tc.versions) || s.TaskCount() != 1 {
				t.Errorf("got %d tasks %d versions", s.TaskCount(), s.VersionCount())
			}
		})
	}
}

func TestConflicts(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, mergeFiles(taskFiles(id1, "1.0.0").Under("z"), taskFiles(id1, "1.0.0").With("main.js", "(function(){ return 2; })").Under("m")))
	writeTree(t, b, taskFiles(id1, "1.0.0").Under("a"))
	s := loadDir(t, a, b)
	got, _ := s.Task(id1, "1.0.0")
	if want := filepath.Join(a, "m"); got.Path != want {
		t.Errorf("got winner %s, want %s (first source, lexical order)", got.Path, want)
	}
	cs := s.Conflicts()
	want := []registry.Conflict{
		{ID: id1, Version: "1.0.0", Path: filepath.Join(a, "z"), Winner: filepath.Join(a, "m")},
		{ID: id1, Version: "1.0.0", Path: filepath.Join(b, "a"), Winner: filepath.Join(a, "m")},
	}
	if fmt.Sprint(cs) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", cs, want)
	}
}

// TestLargeCollection loads 1,000 tasks with one broken among them. The
// size is not the point here (nothing in the loader changes between 1,000
// and 10,000 tasks but the time): BenchmarkLoad loads 10,000.
func TestLargeCollection(t *testing.T) {
	const n = 1_000
	dir := t.TempDir()
	writeGenerated(t, dir, n)
	writeTree(t, dir, taskFiles(id1, "1.0.0").With("metadata.json", "{").Under("t/broken"))
	s := loadDir(t, dir)
	if s.TaskCount() != n || len(s.Errors()) != 1 {
		t.Errorf("got %d tasks and errors %v, want %d and the one broken task", s.TaskCount(), s.Errors(), n)
	}
}
