package taskformat

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
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
		u.Source = reg.AddSource(sourcetest.Named(d))
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

const (
	id1 = registrytest.ID1
	id2 = registrytest.ID2
)

// parseTestFile reads one test file on its own, as a load does but without
// the task's schemas: the case with the problems of its shape and of its
// numbers, to hold against what the load found.
func parseTestFile(name string, data []byte) TestCase {
	var problems, advice []*registry.LoadError
	report := func(to *[]*registry.LoadError, isAdvice bool) warnFunc {
		return func(kind registry.Kind, off int, err error) {
			e := &registry.LoadError{Path: name, File: name, Kind: kind, Err: err, Severity: registry.SeverityWarning, Advice: isAdvice}
			if off >= 0 {
				e.Line, e.Column = lineCol(data, off)
			}
			*to = append(*to, e)
		}
	}
	warn := report(&problems, false)
	var be *boundError
	if err := jsonNumbers(data); errors.As(err, &be) {
		warn(registry.KindInvalid, be.off, err)
	}
	tc := parseTestCase(name, data, objectKeys(data), warn, report(&advice, true))
	tc.Problems, tc.Advice = problems, advice
	return tc
}
