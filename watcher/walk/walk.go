// Package walk walks a folder tree the way every part of the program sees
// it: hidden entries are skipped, symlinks are followed where the fs.FS
// follows them but never around a cycle, and what cannot be read is
// reported, never taken for empty. The task format finds task roots with it
// and the filesystem source fingerprints files with it; the watcher, which
// keeps its own incremental walk, takes its rule for hidden names and its
// file identities from here, so that all agree on what is in a tree. It
// imports only the standard library.
package walk

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
)

// Hidden reports whether an entry is skipped wherever tasks are looked
// for: names starting with a dot (.git, editors' lock files), and the
// resource forks that macOS adds to archives it makes.
func Hidden(name string) bool { return strings.HasPrefix(name, ".") || name == "__MACOSX" }

// HiddenPath is true when any segment of a slash path is hidden.
func HiddenPath(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if Hidden(seg) {
			return true
		}
	}
	return false
}

// ID identifies a file on its device, to tell that two paths lead to the
// same folder; ok is false where the filesystem gives no identity (an
// fs.FS in memory, a git tree: neither has links to loop through).
type ID struct{ dev, ino uint64 }

// IDOf is the identity of a file from its FileInfo.
func IDOf(st fs.FileInfo) (ID, bool) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return ID{dev: uint64(sys.Dev), ino: sys.Ino}, true //nolint:unconvert // Dev is not uint64 on every platform
	}
	return ID{}, false
}

// FolderID is the identity of the folder at p now; zero when there is
// none (or p is a file): what tells a folder removed and made again
// between two looks from the one that was there.
func FolderID(p string) ID {
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return ID{}
	}
	id, _ := IDOf(st)
	return id
}

// Visit is called for every entry walked, folders before what they hold.
// name is slash-separated, relative to the fs.FS. For a folder, descend
// false skips what it holds. A non-nil error is reported (an *fs.PathError
// as it is, naming what failed relative to the fs.FS; any other as the
// entry's) and nothing beneath the entry is walked.
type Visit func(name string, info fs.FileInfo) (descend bool, err error)

// Walk visits root and every entry beneath it, in lexical order within a
// folder. It returns the entries that could not be read (a folder that
// cannot be listed, an entry that cannot be stat'ed for any reason but
// being gone, or an error from visit), as *fs.PathError with the name
// relative to fsys: whatever was beneath them is unknown, not absent.
func Walk(fsys fs.FS, root string, visit Visit) []*fs.PathError {
	w := walker{fsys: fsys, visit: visit}
	w.walk(root, nil)
	return w.errs
}

type walker struct {
	fsys  fs.FS
	visit Visit
	errs  []*fs.PathError
}

func (w *walker) fail(name string, op string, err error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the name is given relative to the tree instead
	}
	w.errs = append(w.errs, &fs.PathError{Op: op, Path: name, Err: err})
}

func (w *walker) walk(name string, ancestors []ID) {
	st, err := fs.Stat(w.fsys, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return // gone since it was listed, or a dangling symlink
	case err != nil:
		w.fail(name, "stat", err)
		return
	}
	if st.IsDir() {
		if id, ok := IDOf(st); ok {
			for _, a := range ancestors {
				if a == id {
					return // a symlink cycle ends here
				}
			}
			ancestors = append(ancestors, id)
		}
	}
	descend, err := w.visit(name, st)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			w.errs = append(w.errs, pe) // visit names what failed, relative to fsys
		} else {
			w.fail(name, "read", err)
		}
		return
	}
	if !st.IsDir() || !descend {
		return
	}
	entries, err := fs.ReadDir(w.fsys, name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.fail(name, "readdir", err)
		}
		return
	}
	for _, e := range entries {
		if Hidden(e.Name()) {
			continue
		}
		w.walk(path.Join(name, e.Name()), ancestors)
	}
}

// Outermost drops every slash path that lies under another path of the
// list, and sorts the rest: the parts of a tree to read again for a set
// of changes, each once.
func Outermost(keys []string) []string {
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		set[k] = true
	}
	var out []string
	for k := range set {
		under := false
		for a := k; a != "." && a != "/" && !under; {
			a = path.Dir(a)
			under = set[a]
		}
		if !under {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
