package lsp

import (
	"io/fs"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// The server's every use of the task format's loader is in this file: it
// loads as a filesystem source does, through registry/taskformat.

// discover lists the task roots at or under key in fsys, as a filesystem
// source finds them.
func discover(fsys fs.FS, key string) []string {
	found, _ := taskformat.Discover(fsys, key)
	return found
}

// isRoot reports whether key in fsys is a task root now.
func isRoot(fsys fs.FS, key string) bool { return taskformat.IsRoot(fsys, key) }

// confined is the folder dir as a filesystem source reads it: no FIFOs,
// and no symlink that leads outside within.
func confined(dir, within string) fs.FS { return taskformat.ConfinedFS(dir, within) }

// loadRoot loads one task root as a filesystem source loads it, with the
// open documents beneath it (files, by slash-separated name under dir)
// in place of the disk's texts. A zip is loaded from the disk: an editor
// does not edit inside one.
func loadRoot(ld *taskformat.Loader, name string, order int, key, dir string, zip bool, within string, files map[string]overlayFile) registry.RootResult {
	r := taskformat.Root{Source: name, Order: order, Key: key, Display: dir}
	if zip {
		return ld.LoadZipWithin(r, dir, within)
	}
	base := confined(dir, within)
	if len(files) == 0 {
		return ld.LoadDir(r, base)
	}
	return ld.LoadDir(r, overlay{base: base, files: files})
}

// testCases are the cases of a loaded task, read through the files it was
// loaded from, ready for the sandbox. The editor's task is one the author
// has open, and its verdict keeps its cases for diagnostics, so they are
// read at once here, unlike in serve and test, which read one a worker.
func testCases(content *taskformat.Content, t *registry.Task) ([]runner.Case, error) {
	script, err := content.Script(t)
	if err != nil {
		return nil, err
	}
	var out []runner.Case
	for _, name := range taskformat.CaseNames(t) {
		c, err := runner.ReadCase(content, t, script, name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// readText reads a file of a folder as the loader would, for placing
// diagnostics in a file that is not open.
func readText(dir, within, name string) string {
	fsys := confined(dir, within)
	if st, err := fs.Stat(fsys, name); err != nil || !st.Mode().IsRegular() || st.Size() > taskformat.MaxFileSize {
		return ""
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil || int64(len(data)) > taskformat.MaxFileSize {
		return ""
	}
	return string(data)
}
