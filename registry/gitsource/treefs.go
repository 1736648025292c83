package gitsource

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxBlob caps what one file read from git may hold, whoever asks: the
// loader's caps are lower, and a zip's is this.
const maxBlob = 100 << 20

// treeFS is an fs.FS over a git tree: files are read from the object
// store when they are opened, nothing is checked out. A symbolic link is
// shown as one and never followed; a submodule is an irregular file.
type treeFS struct {
	obj    *objects
	root   plumbing.Hash      // a tree
	budget *taskformat.Budget // what a load may read; nil for none
}

var (
	_ fs.ReadDirFS = treeFS{}
	_ fs.StatFS    = treeFS{}
)

// entry finds name in the tree, under the lock.
func (t treeFS) entry(op, name string) (object.TreeEntry, error) {
	if !fs.ValidPath(name) {
		return object.TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return object.TreeEntry{Name: ".", Mode: filemode.Dir, Hash: t.root}, nil
	}
	tree, err := object.GetTree(t.obj.st, t.root)
	if err != nil {
		return object.TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	e, err := tree.FindEntry(name)
	if err != nil {
		return object.TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return *e, nil
}

func (t treeFS) Stat(name string) (fs.FileInfo, error) {
	t.obj.mu.Lock()
	defer t.obj.mu.Unlock()
	_, fi, err := t.stat("stat", name)
	if err != nil {
		return nil, err
	}
	return fi, nil
}

// stat finds name's entry and describes it, for op; t.obj.mu is held.
func (t treeFS) stat(op, name string) (object.TreeEntry, fileInfo, error) {
	e, err := t.entry(op, name)
	if err != nil {
		return e, fileInfo{}, err
	}
	fi, err := t.info(path.Base(name), e)
	return e, fi, err
}

// info describes an entry; a blob's size comes from its object header.
func (t treeFS) info(name string, e object.TreeEntry) (fileInfo, error) {
	fi := fileInfo{name: name, mode: fsMode(e.Mode)}
	if e.Mode.IsFile() {
		obj, err := t.obj.st.EncodedObject(plumbing.BlobObject, e.Hash)
		if err != nil {
			return fi, &fs.PathError{Op: "stat", Path: name, Err: err}
		}
		fi.size = obj.Size()
	}
	return fi, nil
}

func fsMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o755
	case filemode.Regular, filemode.Deprecated:
		return 0o644
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	default: // a submodule: a commit of another repository
		return fs.ModeIrregular
	}
}

func (t treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	t.obj.mu.Lock()
	defer t.obj.mu.Unlock()
	return t.readDir(name)
}

func (t treeFS) readDir(name string) ([]fs.DirEntry, error) {
	e, err := t.entry("readdir", name)
	if err != nil {
		return nil, err
	}
	if e.Mode != filemode.Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fmt.Errorf("not a folder")}
	}
	tree, err := object.GetTree(t.obj.st, e.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, c := range tree.Entries {
		out = append(out, dirEntry{t: t, e: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (t treeFS) Open(name string) (fs.File, error) {
	t.obj.mu.Lock()
	defer t.obj.mu.Unlock()
	e, fi, err := t.stat("open", name)
	if err != nil {
		return nil, err
	}
	if e.Mode == filemode.Dir {
		entries, err := t.readDir(name)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: fi, entries: entries}, nil
	}
	return &blobFile{t: t, name: name, hash: e.Hash, info: fi}, nil
}

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fileInfo) Sys() any           { return nil }

type dirEntry struct {
	t treeFS
	e object.TreeEntry
}

func (d dirEntry) Name() string      { return d.e.Name }
func (d dirEntry) IsDir() bool       { return d.e.Mode == filemode.Dir }
func (d dirEntry) Type() fs.FileMode { return fsMode(d.e.Mode).Type() }

// Info is called by readers without the lock held.
func (d dirEntry) Info() (fs.FileInfo, error) {
	d.t.obj.mu.Lock()
	defer d.t.obj.mu.Unlock()
	return d.t.info(d.e.Name, d.e)
}

type dirFile struct {
	info    fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: fmt.Errorf("is a folder")}
}

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}

// blobFile reads its object on the first Read, so that a caller that
// only looks at Stat (and refuses a symlink or an oversized file) costs
// nothing more.
type blobFile struct {
	t    treeFS
	name string
	hash plumbing.Hash
	info fileInfo
	r    *bytes.Reader
}

func (f *blobFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *blobFile) Close() error               { return nil }

func (f *blobFile) Read(p []byte) (int, error) {
	if f.r == nil {
		data, err := f.load()
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
		}
		f.r = bytes.NewReader(data)
	}
	return f.r.Read(p)
}

func (f *blobFile) load() ([]byte, error) {
	if !f.info.mode.IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	if f.info.size > maxBlob {
		return nil, fmt.Errorf("file is %d bytes, over the %d-byte limit", f.info.size, maxBlob)
	}
	// Counted before it is inflated: a tree may name one blob many times.
	if err := f.t.budget.Take(f.info.size); err != nil {
		return nil, err
	}
	f.t.obj.mu.Lock()
	defer f.t.obj.mu.Unlock()
	obj, err := f.t.obj.st.EncodedObject(plumbing.BlobObject, f.hash)
	if err != nil {
		return nil, err
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, maxBlob))
}
