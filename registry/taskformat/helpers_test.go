package taskformat

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// The one set of tree helpers, under the names these tests use.
type files = registrytest.Files

var (
	taskFiles     = registrytest.Task
	writeTree     = registrytest.WriteTree
	zipBytes      = registrytest.ZipBytes
	mergeFiles    = registrytest.Merge
	generatedTree = registrytest.GeneratedTree
	write         = registrytest.Write
)

func sortedKeys(f files) []string { return slices.Sorted(maps.Keys(f)) }

// loadDir loads folders as a filesystem source would on its first scan,
// each as one source, into a fresh registry.
func loadDir(tb testing.TB, dirs ...string) *registry.Snapshot {
	tb.Helper()
	reg := registry.New(time.Now, nil)
	ld := NewLoader()
	for i, d := range dirs {
		u := scanDir(ld, d, i)
		u.Source = reg.AddSource(fakeSource{name: d})
		reg.Apply(u)
	}
	return reg.Snapshot()
}

// scanDir is the complete update of a folder, found and loaded as the
// filesystem source does.
func scanDir(ld *Loader, d string, order int) registry.Update {
	u := registry.Update{Complete: true}
	roots, _ := Discover(DirFS(d), ".")
	for _, key := range roots {
		r := Root{Source: d, Order: order, Key: key, Display: filepath.Join(d, filepath.FromSlash(key))}
		if IsZip(key) {
			u.Results = append(u.Results, ld.LoadZipFile(r, filepath.Join(d, key)))
		} else {
			u.Results = append(u.Results, ld.LoadDir(r, DirFS(filepath.Join(d, key))))
		}
	}
	return u
}

// fakeSource names a source for AddSource; tests here apply updates by hand.
type fakeSource struct{ name string }

func (f fakeSource) Name() string              { return f.name }
func (f fakeSource) Type() registry.SourceType { return registry.SourceFilesystem }
func (f fakeSource) Location() string          { return f.name }
func (f fakeSource) Run(context.Context, func(registry.Update), <-chan registry.Rescan) error {
	return nil
}

// listing renders a snapshot as text, for comparisons.
func listing(s *registry.Snapshot) string {
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
	id1 = registrytest.ID1
	id2 = registrytest.ID2
)
