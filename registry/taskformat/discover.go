package taskformat

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// Discover lists the task roots at or under key in fsys, in lexical order:
// folders holding a metadata.json file, and .zip files. It does not descend
// into a task, and walks as walk.Walk does (hidden entries skipped, symlink
// cycles ended). It also returns what could not be read: a folder that
// cannot be listed holds roots that are unknown now, not gone. Every source
// that holds a tree of tasks finds them with it, so that all agree on what
// a task root is.
func Discover(fsys fs.FS, key string) ([]string, []*fs.PathError) {
	if key != "." && walk.HiddenPath(key) {
		return nil, nil
	}
	var out []string
	unreadable := walk.Walk(fsys, key, func(name string, st fs.FileInfo) (bool, error) {
		switch {
		case st.Mode().IsRegular():
			if IsZip(name) {
				out = append(out, name)
			}
			return false, nil
		case !st.IsDir():
			return false, nil // FIFOs, sockets, devices: never opened
		}
		root, err := hasMetadata(fsys, name)
		if root {
			out = append(out, name)
		}
		return !root, err
	})
	sort.Strings(out)
	return out, unreadable
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
	root, _ := hasMetadata(fsys, key)
	return st.IsDir() && root
}

// IsZip reports whether a file is a task archive by its name.
func IsZip(name string) bool { return strings.EqualFold(path.Ext(name), ".zip") }

// OpSearch is the Op of the error that Discover reports for a folder
// whose entries cannot be looked up (chmod 000 takes the search
// permission): whether it is a task folder or a collection is unknown,
// and the error names the folder, not the metadata.json looked for in it.
const OpSearch = "search"

// hasMetadata reports whether a folder is a task; an error when that
// cannot be known.
func hasMetadata(fsys fs.FS, key string) (bool, error) {
	m, err := fs.Stat(fsys, path.Join(key, metadataFile))
	switch {
	case err == nil:
		return !m.IsDir(), nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return false, &fs.PathError{Op: OpSearch, Path: key, Err: err}
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
		case p != key && walk.Hidden(d.Name()):
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
