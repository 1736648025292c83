package taskformat

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Root names one task root to load, as a source sees it.
type Root struct {
	Source  string // name of the source
	Order   int    // position of the source in configuration order, which decides conflicts
	Key     string // root key inside the source, slash-separated ("." when the source is the task)
	Display string // the root as users see it: a path, a URL; files are named beneath it
}

// LoadDir loads a task folder on disk, given as the DirFS or ConfinedFS
// rooted at it. Files are named Display/FILE with the system's separator.
func (ld *Loader) LoadDir(r Root, dir fs.FS) registry.RootResult {
	return ld.load(r, dir, string(filepath.Separator), func() (fs.FS, io.Closer, error) {
		return dir, io.NopCloser(nil), nil
	}, 0)
}

// LoadFS loads a task whose files are the root of fsys, which must stay
// readable for as long as the task is served (a git tree at a commit, for
// example). Files are named Display/FILE.
func (ld *Loader) LoadFS(r Root, fsys fs.FS) registry.RootResult {
	return ld.load(r, fsys, "/", func() (fs.FS, io.Closer, error) { return fsys, io.NopCloser(nil), nil }, 0)
}

// LoadZipWithin is LoadZipFile for an archive found in the folder within
// (none: ""), as ConfinedFS reads a folder: one that a link, or a swap
// since it was found, puts outside is refused with ErrOutside.
func (ld *Loader) LoadZipWithin(r Root, path, within string) registry.RootResult {
	if within != "" {
		if real, err := filepath.EvalSymlinks(path); err == nil && !Inside(real, within) {
			return r.fail(registry.KindIO, ErrOutside)
		}
	}
	return ld.LoadZipFile(r, path)
}

// LoadZipFile loads a task archive on disk: a local .zip, a downloaded
// bundle. Files are named Display!/FILE.
func (ld *Loader) LoadZipFile(r Root, path string) registry.RootResult {
	f, size, err := openArchive(path)
	if err != nil {
		return r.fail(registry.KindIO, UnwrapPath(err))
	}
	defer f.Close()
	return ld.loadZip(r, f, size, func(prefix string) registry.Opener {
		return func() (fs.FS, io.Closer, error) {
			f, size, err := openArchive(path)
			if err != nil {
				return nil, nil, err
			}
			fsys, err := reopenZip(f, size, prefix)
			if err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
			return fsys, f, nil
		}
	})
}

// openArchive opens a task archive on disk and gives its size. It opens
// without blocking and refuses what is not a regular file: a FIFO put in
// the archive's place, between the walk that found it and this open (or
// long after the load, when its content is asked for), would hang the
// open until something wrote to it.
func openArchive(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is %s, not a regular file", filepath.Base(path), describeMode(st.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// LoadZip loads a task archive held in memory or any io.ReaderAt, which
// must stay readable for as long as the task is served.
func (ld *Loader) LoadZip(r Root, ra io.ReaderAt, size int64) registry.RootResult {
	return ld.loadZip(r, ra, size, func(prefix string) registry.Opener {
		return func() (fs.FS, io.Closer, error) {
			fsys, err := reopenZip(ra, size, prefix)
			if err != nil {
				return nil, nil, err
			}
			return fsys, io.NopCloser(nil), nil
		}
	})
}

func (ld *Loader) loadZip(r Root, ra io.ReaderAt, size int64, opener func(prefix string) registry.Opener) registry.RootResult {
	fsys, prefix, err := openZip(ra, size)
	if err != nil {
		return r.fail(registry.KindArchive, err)
	}
	sep := "!/"
	if prefix != "" {
		sep += prefix + "/"
	}
	res := ld.load(r, fsys, sep, opener(prefix), MaxFileSize)
	for _, e := range res.Errors {
		if errors.Is(e.Err, zip.ErrChecksum) || errors.Is(e.Err, zip.ErrFormat) || errors.Is(e.Err, zip.ErrAlgorithm) {
			e.Kind = registry.KindArchive // a corrupt entry shows up only when it is read
		}
	}
	return res
}

// reopenZip opens an archive again for lazy content: the task must still
// sit in the folder it was loaded from.
func reopenZip(ra io.ReaderAt, size int64, prefix string) (fs.FS, error) {
	fsys, now, err := openZip(ra, size)
	if err != nil {
		return nil, err
	}
	if now != prefix {
		return nil, fmt.Errorf("task folder moved from %q to %q since it was loaded", prefix, now)
	}
	return fsys, nil
}

func (ld *Loader) load(r Root, fsys fs.FS, sep string, open registry.Opener, maxFile int64) registry.RootResult {
	t, errs := loadTask(loadInput{loader: ld, source: r.Source, order: r.Order, root: r.Key, display: r.Display, sep: sep,
		fsys: fsys, open: open, maxFile: maxFile})
	return registry.RootResult{Root: r.Key, Task: t, Errors: errs}
}

// fail is a root that could not be opened at all.
func (r Root) fail(kind registry.Kind, err error) registry.RootResult {
	return registry.RootResult{Root: r.Key, Errors: []*registry.LoadError{{Source: r.Source, Root: r.Key, Path: r.Display, Kind: kind, Err: err}}}
}

// UnwrapPath drops the path that os and fs.FS put in their errors, for a
// load error whose message already names the file as the user gave it.
func UnwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
