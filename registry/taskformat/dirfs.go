package taskformat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
// an absolute path with its own symlinks resolved). The folders on the
// way to an entry cost one lstat each; the entry itself is opened without
// following a symlink (O_NOFOLLOW), and only a symlink costs more. A
// collection of 100,000 tasks holds 600,000 entries: each syscall saved
// per entry is seconds of load.
func ConfinedFS(dir, within string) fs.FS { return dirFS{dir: dir, within: within} }

type dirFS struct {
	dir    string
	within string // "" when symlinks may lead anywhere
}

var (
	_ fs.ReadDirFS = dirFS{}
	_ fs.StatFS    = dirFS{}
)

// path turns a name into a path on disk, refusing names that leave the
// tree and, when confined, folders on the way that are symlinks leading
// out. The last segment is the operation's to check (see followable).
func (d dirFS) path(name, op string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if d.within == "" || name == "." {
		return p, nil
	}
	at := d.dir
	segs := strings.Split(name, "/")
	for _, seg := range segs[:len(segs)-1] {
		at = filepath.Join(at, seg)
		st, err := os.Lstat(at)
		if err != nil {
			return p, nil // the operation itself reports it
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return p, d.resolves(p, name, op)
		}
	}
	return p, nil
}

// resolves refuses p when it resolves outside within.
func (d dirFS) resolves(p, name, op string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil // the operation itself reports it
	}
	if !Inside(real, d.within) {
		return &fs.PathError{Op: op, Path: name, Err: ErrOutside}
	}
	return nil
}

// noFollow is the flag that makes an open of a confined entry fail with
// ELOOP when the entry is a symlink, so that it is checked before it is
// followed.
func (d dirFS) noFollow(name string) int {
	if d.within == "" || name == "." {
		return 0
	}
	return syscall.O_NOFOLLOW
}

// followable is the check of an entry that an open without following
// found to be a symlink (err is ELOOP): again when it may be followed, so
// the open is tried again following it; the refusal when it leads out.
func (d dirFS) followable(p, name, op string, err error) (again bool, refused error) {
	if d.noFollow(name) == 0 || !errors.Is(err, syscall.ELOOP) {
		return false, nil
	}
	if err := d.resolves(p, name, op); err != nil {
		return false, err
	}
	return true, nil
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
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|d.noFollow(name), 0)
	again, refused := d.followable(p, name, "open", err)
	if refused != nil {
		return nil, refused
	}
	if again {
		f, err = os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	list, err := f.(*os.File).ReadDir(-1)
	slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return list, err
}

func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.path(name, "stat")
	if err != nil {
		return nil, err
	}
	if d.noFollow(name) == 0 {
		return os.Stat(p)
	}
	st, err := os.Lstat(p)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return st, err
	}
	if err := d.resolves(p, name, "stat"); err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// readFile is the loader's readFile on disk in the fewest syscalls: open,
// fstat, one read, close. os.ReadFile also registers the descriptor with
// the poller (a failing epoll_ctl for a regular file) and reads a second
// time to see the end; at 500,000 files that is a quarter of the load.
func (d dirFS) readFile(name string, max int64) ([]byte, error) {
	p, err := d.path(name, "open")
	if err != nil {
		return nil, err
	}
	fd, err := openFile(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|d.noFollow(name))
	again, refused := d.followable(p, name, "open", err)
	if refused != nil {
		return nil, refused
	}
	if again {
		fd, err = openFile(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := retry(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		// Mode is uint16 on darwin and the BSDs.
		return nil, fmt.Errorf("%s is %s, not a regular file", name, describeMode(modeOf(uint32(st.Mode)))) //nolint:unconvert
	}
	if st.Size > max {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit for one file", name, st.Size, max)
	}
	// One byte more than the size, so that a read that fills the size
	// and stops short is the end of the file (a file read short for any
	// other reason, NFS's rsize, goes on reading).
	buf := make([]byte, st.Size+1)
	n := 0
	for {
		var m int
		err := retry(func() (err error) { m, err = syscall.Read(fd, buf[n:]); return err })
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		n += m
		if int64(n) > max {
			return nil, fmt.Errorf("%s grew over the %d-byte limit for one file", name, max)
		}
		if m == 0 || (n >= int(st.Size) && n < len(buf)) {
			return buf[:n], nil
		}
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
}

func openFile(p string, flags int) (int, error) {
	var fd int
	err := retry(func() (err error) { fd, err = syscall.Open(p, flags, 0); return err })
	return fd, err
}

// retry repeats a syscall that a signal interrupted, as os does.
func retry(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

// modeOf is the fs.FileMode type bits of a stat's mode.
func modeOf(m uint32) fs.FileMode {
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	}
	return 0
}
