package gitsource

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Limits on the trees a remote can make a source walk.
const (
	maxEntries = 200_000 // tree entries visited in one load
	maxDepth   = 64      // folders inside folders
)

// delta is what changed between two versions of a source's folder: the
// task roots to load, and the keys whose old content they replace
// (every old root at or under a scope that is not loaded again is gone).
type delta struct {
	load   []string
	scopes []string
}

// walker finds task roots in git trees with the rules of the filesystem
// source: a folder holding an entry named metadata.json is a task and is
// not descended into, a .zip is a task, names starting with a dot are
// skipped. Symbolic links are never followed; one named like a task file
// is loaded, so that the loader refuses it with an error that says so.
type walker struct {
	obj     *objects
	entries int
}

// diff compares two trees (old may be zero: everything is new), skipping
// every subtree whose hash did not change, so that its cost follows the
// change and not the size of the repository.
func (w *walker) diff(old, cur plumbing.Hash, key string, d *delta) error {
	if old == cur {
		return nil
	}
	if depth(key) > maxDepth {
		return fmt.Errorf("%s: folders nest more than %d deep", key, maxDepth)
	}
	curTree, err := w.tree(cur)
	if err != nil {
		return err
	}
	if isTaskTree(curTree) {
		d.load = append(d.load, key)
		d.scopes = append(d.scopes, key)
		return nil
	}
	var oldEntries map[string]object.TreeEntry
	if !old.IsZero() {
		oldTree, err := w.tree(old)
		if err != nil {
			return err
		}
		if isTaskTree(oldTree) {
			d.scopes = append(d.scopes, key) // a task that is a plain folder now: all below is new
		} else {
			oldEntries = make(map[string]object.TreeEntry, len(oldTree.Entries))
			for _, e := range oldTree.Entries {
				oldEntries[e.Name] = e
			}
		}
	}
	for _, e := range curTree.Entries {
		if strings.HasPrefix(e.Name, ".") {
			continue
		}
		child := join(key, e.Name)
		o, had := oldEntries[e.Name]
		delete(oldEntries, e.Name)
		switch {
		case e.Mode == filemode.Dir:
			prev := plumbing.ZeroHash
			if had && o.Mode == filemode.Dir {
				prev = o.Hash
			} else if had {
				d.scopes = append(d.scopes, child) // was a file, maybe a task zip
			}
			if err := w.diff(prev, e.Hash, child, d); err != nil {
				return err
			}
		case isZipName(e.Name):
			if had && o.Hash == e.Hash && o.Mode == e.Mode {
				continue
			}
			d.load = append(d.load, child)
			d.scopes = append(d.scopes, child)
		case had && (o.Mode == filemode.Dir || isZipName(o.Name)):
			d.scopes = append(d.scopes, child) // a task that is a plain file now
		}
	}
	for name := range oldEntries {
		if !strings.HasPrefix(name, ".") {
			d.scopes = append(d.scopes, join(key, name))
		}
	}
	return nil
}

func (w *walker) tree(h plumbing.Hash) (*object.Tree, error) {
	w.obj.mu.Lock()
	t, err := object.GetTree(w.obj.st, h)
	w.obj.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	w.entries += len(t.Entries)
	if w.entries > maxEntries {
		return nil, fmt.Errorf("the tree has over %d entries, the limit for one load", maxEntries)
	}
	return t, nil
}

func isTaskTree(t *object.Tree) bool {
	for _, e := range t.Entries {
		if e.Name == "metadata.json" {
			return e.Mode != filemode.Dir
		}
	}
	return false
}

func isZipName(name string) bool { return strings.EqualFold(path.Ext(name), ".zip") }

func join(key, name string) string {
	if key == "." {
		return name
	}
	return key + "/" + name
}

func depth(key string) int {
	if key == "." {
		return 0
	}
	return strings.Count(key, "/") + 1
}

// gone lists the known roots that a delta removes: those under one of its
// scopes that it does not load again.
func (d *delta) gone(known map[string]bool) []string {
	loaded := make(map[string]bool, len(d.load))
	for _, k := range d.load {
		loaded[k] = true
	}
	var out []string
	for k := range known {
		if loaded[k] {
			continue
		}
		for _, s := range d.scopes {
			if s == "." || k == s || strings.HasPrefix(k, s+"/") {
				out = append(out, k)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}
