package registry_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// The one set of tree helpers, under the names these tests use.
type files = registrytest.Files

var (
	taskFiles      = registrytest.Task
	writeTree      = registrytest.WriteTree
	zipBytes       = registrytest.ZipBytes
	mergeFiles     = registrytest.Merge
	writeGenerated = registrytest.WriteGenerated
	write          = registrytest.Write
)

// loadDir loads folders as a filesystem source would on its first scan,
// each as one source, into a fresh registry.
func loadDir(tb testing.TB, dirs ...string) *registry.Snapshot {
	tb.Helper()
	reg := registry.New(time.Now, nil)
	ld := taskformat.NewLoader()
	for i, d := range dirs {
		u := scanDir(ld, d, i)
		u.Source = reg.AddSource(sourcetest.Named(d))
		reg.Apply(u)
	}
	return reg.Snapshot()
}

// scanDir is the complete update of a folder, found and loaded as the
// filesystem source does.
func scanDir(ld *taskformat.Loader, d string, order int) registry.Update {
	u := registry.Update{Complete: true}
	roots, _ := taskformat.Discover(taskformat.DirFS(d), ".")
	for _, key := range roots {
		r := taskformat.Root{Source: d, Order: order, Key: key, Display: filepath.Join(d, filepath.FromSlash(key))}
		if taskformat.IsZip(key) {
			u.Results = append(u.Results, ld.LoadZipFile(r, filepath.Join(d, key)))
		} else {
			u.Results = append(u.Results, ld.LoadDir(r, taskformat.DirFS(filepath.Join(d, key))))
		}
	}
	return u
}

const (
	id1 = registrytest.ID1
	id2 = registrytest.ID2
)
