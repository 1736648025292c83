package lsp

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// overlay is a tree of files on disk with the editor's unsaved texts laid
// over it: a file open in the editor reads as its text there, whatever
// the disk holds, and a file the editor made but has not saved yet is
// listed. Everything else is base's, with base's rules (confinement,
// no FIFOs). It is built for one load and never changed, so that the
// content a task reads later is the text it was loaded from.
type overlay struct {
	base  fs.FS
	files map[string]overlayFile // by slash-separated name under base
}

// overlayFile is one open document: its text, or its size alone when it
// is over the limit for one document (the loader reports the limit from
// the size, and the text was never kept).
type overlayFile struct {
	text string
	size int64
}

var (
	_ fs.ReadDirFS = overlay{}
	_ fs.StatFS    = overlay{}
)

func (o overlay) Open(name string) (fs.File, error) {
	if f, ok := o.files[name]; ok {
		return &memFile{info: memInfo{name: path.Base(name), size: f.size}, r: strings.NewReader(f.text)}, nil
	}
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return o.base.Open(name)
}

func (o overlay) Stat(name string) (fs.FileInfo, error) {
	if f, ok := o.files[name]; ok {
		return memInfo{name: path.Base(name), size: f.size}, nil
	}
	st, err := fs.Stat(o.base, name)
	if errors.Is(err, fs.ErrNotExist) && o.implied(name) {
		return memInfo{name: path.Base(name), dir: true}, nil
	}
	return st, err
}

// implied reports whether name is a folder that open documents beneath it
// make, though the disk may not have it yet: a new task, typed and not
// saved, is loaded as one.
func (o overlay) implied(name string) bool {
	if name == "." {
		return len(o.files) > 0
	}
	for n := range o.files {
		if strings.HasPrefix(n, name+"/") {
			return true
		}
	}
	return false
}

// ReadDir lists base's entries, the open documents in place of the files
// they shadow, and the documents, and folders of them, not on disk yet.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	list, err := fs.ReadDir(o.base, name)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && o.implied(name)) {
		return list, err
	}
	at := make(map[string]int, len(list))
	for i, e := range list {
		at[e.Name()] = i
	}
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	added := false
	for n, f := range o.files {
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok {
			continue
		}
		child, deeper, _ := strings.Cut(rest, "/")
		e := fs.FileInfoToDirEntry(memInfo{name: child, size: f.size, dir: deeper != ""})
		i, ok := at[child]
		switch {
		case ok && deeper == "":
			list[i] = e
		case !ok:
			at[child] = len(list)
			list = append(list, e)
			added = true
		}
	}
	if added {
		slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return list, nil
}

type memFile struct {
	info memInfo
	r    *strings.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Read(p []byte) (int, error) {
	if int64(f.r.Len()) == 0 && f.info.size > f.r.Size() {
		return 0, io.ErrUnexpectedEOF // a document over the limit: its text was not kept
	}
	return f.r.Read(p)
}
func (f *memFile) Close() error { return nil }

type memInfo struct {
	name string
	size int64
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
