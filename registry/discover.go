package registry

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
)

// Discover lists the task roots at or under key in fsys, in lexical order:
// folders holding a metadata.json file, and .zip files. It does not descend
// into a task, skips hidden entries (see Hidden), follows symlinks where
// fsys does but never into a folder already on the path from the top, so
// that a symlink cycle ends. Every source that holds a tree of tasks finds
// them with it, so that all agree on what a task root is.
func Discover(fsys fs.FS, key string) []string {
	if key != "." && hiddenPath(key) {
		return nil
	}
	var out []string
	walk(fsys, key, nil, &out)
	sort.Strings(out)
	return out
}

// IsRoot reports whether key in fsys is a task root now: a .zip file, or a
// folder with an entry named metadata.json that is not a folder.
func IsRoot(fsys fs.FS, key string) bool {
	st, err := fs.Stat(fsys, key)
	if err != nil {
		return false
	}
	if st.Mode().IsRegular() {
		return IsZip(key)
	}
	return st.IsDir() && hasMetadata(fsys, key)
}

// IsZip reports whether a file is a task archive by its name.
func IsZip(name string) bool { return strings.EqualFold(path.Ext(name), ".zip") }

// Hidden reports whether an entry is skipped wherever tasks are looked
// for: names starting with a dot (.git, editors' scratch files), and the
// resource forks that macOS adds to archives it makes.
func Hidden(name string) bool { return strings.HasPrefix(name, ".") || name == "__MACOSX" }

// hiddenPath is true when any segment of a slash path is hidden.
func hiddenPath(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if Hidden(seg) {
			return true
		}
	}
	return false
}

func hasMetadata(fsys fs.FS, key string) bool {
	m, err := fs.Stat(fsys, path.Join(key, metadataFile))
	return err == nil && !m.IsDir()
}

// FileID identifies a file on its device, to tell that two paths lead to
// the same folder; ok is false where the filesystem gives no identity
// (an fs.FS in memory, a git tree: neither has links to loop through).
func FileID(st fs.FileInfo) (id [2]uint64, ok bool) {
	if sys, isStat := st.Sys().(*syscall.Stat_t); isStat {
		return [2]uint64{uint64(sys.Dev), uint64(sys.Ino)}, true //nolint:unconvert // Dev is not uint64 everywhere
	}
	return id, false
}

func walk(fsys fs.FS, key string, ancestors [][2]uint64, out *[]string) {
	st, err := fs.Stat(fsys, key)
	if err != nil {
		return
	}
	if st.Mode().IsRegular() {
		if IsZip(key) {
			*out = append(*out, key)
		}
		return
	}
	if !st.IsDir() {
		return // FIFOs, sockets, devices: never opened
	}
	if id, ok := FileID(st); ok {
		for _, a := range ancestors {
			if a == id {
				return
			}
		}
		ancestors = append(ancestors, id)
	}
	if hasMetadata(fsys, key) {
		*out = append(*out, key)
		return
	}
	entries, err := fs.ReadDir(fsys, key)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	for _, e := range entries {
		if Hidden(e.Name()) {
			continue
		}
		walk(fsys, path.Join(key, e.Name()), ancestors, out)
	}
}

// HoldsFiles reports whether key in fsys is, or holds at any depth, a
// regular file that is not hidden: a path that does but holds no task root
// was most likely given by mistake. It stops at the first file.
func HoldsFiles(fsys fs.FS, key string) bool {
	found := false
	_ = fs.WalkDir(fsys, key, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case p != key && Hidden(d.Name()):
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		case d.Type().IsRegular():
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}
