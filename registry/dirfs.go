package registry

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DirFS is the tree under dir as an fs.FS for Discover and the loader. It
// is os.DirFS that opens without blocking (a FIFO named main.js gives an
// error instead of hanging the loader until something writes to it) and
// whose Stat follows symlinks, as the filesystem source does.
func DirFS(dir string) fs.FS { return dirFS(dir) }

type dirFS string

func (d dirFS) join(name string, op string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

func (d dirFS) Open(name string) (fs.File, error) {
	p, err := d.join(name, "open")
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
	p, err := d.join(name, "readdir")
	if err != nil {
		return nil, err
	}
	return os.ReadDir(p)
}

func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.join(name, "stat")
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}
