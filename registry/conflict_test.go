package registry_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestConflictPlaces: which copy of one version is served. Within a source
// a folder beats an archive, on a cold start and on a reload; a copy that
// appears on a reload never displaces the copy served; a source's first
// load keeps the cold-start order even when a later source loaded first.
func TestConflictPlaces(t *testing.T) {
	task := taskFiles(id1, "1.0.0")
	t.Run("folder beats the archive beside it", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, task.Under("tasks/addition"))
		write(t, filepath.Join(dir, "addition.zip"), string(zipBytes(t, task.With("tests/one.json", "").Under("addition"))))
		s := loadDir(t, dir)
		if got, _ := s.Task(id1, "1.0.0"); got.Path != filepath.Join(dir, "tasks", "addition") {
			t.Errorf("got %s served, want the folder\n%s", got.Path, sourcetest.Listing(s))
		}
	})
	t.Run("a folder made on a reload beats the archive served", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "addition.zip"), string(zipBytes(t, task.Under("addition"))))
		reg := registry.New(time.Now, nil)
		src := reg.AddSource(sourcetest.Named(dir))
		ld := taskformat.NewLoader()
		apply := func() *registry.Snapshot {
			u := scanDir(ld, dir, 0)
			u.Source = src
			reg.Apply(u)
			return reg.Snapshot()
		}
		apply()
		writeTree(t, dir, task.Under("zz/addition")) // sorts after the zip
		if got, _ := apply().Task(id1, "1.0.0"); got.Path != filepath.Join(dir, "zz", "addition") {
			t.Errorf("got %s served, want the folder", got.Path)
		}
	})
	t.Run("a copy on a reload keeps its place behind the copy served", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, task.Under("m"))
		reg := registry.New(time.Now, nil)
		src := reg.AddSource(sourcetest.Named(dir))
		ld := taskformat.NewLoader()
		apply := func() *registry.Snapshot {
			u := scanDir(ld, dir, 0)
			u.Source = src
			reg.Apply(u)
			return reg.Snapshot()
		}
		apply()
		writeTree(t, dir, task.Under("a"))
		s := apply()
		if got, _ := s.Task(id1, "1.0.0"); got.Path != filepath.Join(dir, "m") {
			t.Errorf("got %s served, want the original m", got.Path)
		}
		if cs := s.Conflicts(); len(cs) != 1 || cs[0].Path != filepath.Join(dir, "a") || cs[0].Source != dir {
			t.Errorf("got conflicts %v, want a, not served", cs)
		}
		if err := os.RemoveAll(filepath.Join(dir, "m")); err != nil {
			t.Fatal(err)
		}
		if got, _ := apply().Task(id1, "1.0.0"); got.Path != filepath.Join(dir, "a") {
			t.Errorf("got %s served after m went, want a", got.Path)
		}
	})
	t.Run("a source's first load keeps the cold-start order", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		writeTree(t, a, task.Under("x"))
		writeTree(t, b, task.Under("x"))
		reg := registry.New(time.Now, nil)
		sa, sb := reg.AddSource(sourcetest.Named(a)), reg.AddSource(sourcetest.Named(b))
		ld := taskformat.NewLoader()
		ub := scanDir(ld, b, 1)
		ub.Source = sb
		reg.Apply(ub) // the second source answers first
		ua := scanDir(ld, a, 0)
		ua.Source = sa
		reg.Apply(ua)
		if got, _ := reg.Snapshot().Task(id1, "1.0.0"); got.Path != filepath.Join(a, "x") {
			t.Errorf("got %s served, want the first source's", got.Path)
		}
	})
}
