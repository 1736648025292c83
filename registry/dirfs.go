package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrOutside is a symlink that resolves outside its source's folder. Such a
// link could serve any file the server can read (a .env, a key) as a task's
// main.js, so it is refused unless the source allows it.
var ErrOutside = errors.New("symbolic link resolves outside the source's folder; set follow_symlinks_outside on the source to allow it")

// DirFS is the tree under dir as an fs.FS for Discover and the loader. It
// is os.DirFS that opens without blocking (a FIFO named main.js gives an
// error instead of hanging the loader until something writes to it) and
// whose Stat follows symlinks, as the filesystem source does.
func DirFS(dir string) fs.FS { return dirFS{dir: dir} }

// ConfinedFS is DirFS that refuses, with ErrOutside, every entry reached
// through a symlink that resolves outside within (the source's folder, as
// an absolute path with its own symlinks resolved). Entries with no
// symlink on their way cost one lstat per path segment below dir.
func ConfinedFS(dir, within string) fs.FS { return dirFS{dir: dir, within: within} }

type dirFS struct {
	dir    string
	within string // "" when symlinks may lead anywhere
}

// path turns a name into a path on disk, refusing names that leave the
// tree and, when confined, symlinks that do.
func (d dirFS) path(name, op string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if d.within == "" || name == "." {
		return p, nil
	}
	at := d.dir
	for _, seg := range strings.Split(name, "/") {
		at = filepath.Join(at, seg)
		st, err := os.Lstat(at)
		if err != nil {
			return p, nil // the operation itself reports it
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return p, nil
		}
		if !Inside(real, d.within) {
			return "", &fs.PathError{Op: op, Path: name, Err: ErrOutside}
		}
		return p, nil
	}
	return p, nil
}

// Inside reports whether path p is dir or beneath it.
func Inside(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func (d dirFS) Open(name string) (fs.File, error) {
	p, err := d.path(name, "open")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := d.path(name, "readdir")
	if err != nil {
		return nil, err
	}
	return os.ReadDir(p)
}

func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.path(name, "stat")
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}
