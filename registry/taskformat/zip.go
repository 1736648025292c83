package taskformat

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// Limits on what one task may hold, about Helm's for charts: generous for
// any real task, small enough that a hostile archive cannot exhaust memory.
const (
	MaxFileSize    = 5 << 20   // one file, uncompressed
	MaxTotalSize   = 100 << 20 // one archive, uncompressed
	MaxZipEntries  = 10_000
	MaxArchiveSize = 100 << 20 // the .zip file itself
)

// archiveError is a problem with a zip as a whole; the loader turns it into
// a LoadError of kind ARCHIVE on the archive's path.
type archiveError struct{ msg string }

func (e *archiveError) Error() string { return e.msg }

func archiveErrorf(format string, args ...any) error {
	return &archiveError{fmt.Sprintf(format, args...)}
}

// openZip opens a task archive, checks every entry before anything is read
// and returns the task's files (rooted where metadata.json is) with the
// folder they sit in. Nothing is extracted to disk.
func openZip(r io.ReaderAt, size int64) (fs.FS, string, error) {
	if size > MaxArchiveSize {
		return nil, "", archiveErrorf("archive is %d bytes, over the %d-byte limit", size, MaxArchiveSize)
	}
	zr, err := registry.Guard("read the archive's directory", func() (*zip.Reader, error) { return zip.NewReader(r, size) })
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, "", archiveErrorf("not a readable zip archive: %v", err)
	}
	if len(zr.File) > MaxZipEntries {
		return nil, "", archiveErrorf("archive has %d entries, over the limit of %d", len(zr.File), MaxZipEntries)
	}
	var total uint64
	seen := make(map[string]bool, len(zr.File))
	var roots []string
	hasRoot := false
	for _, f := range zr.File {
		name := f.Name
		if err := checkEntryName(name); err != nil {
			return nil, "", err
		}
		clean := strings.TrimSuffix(name, "/")
		if seen[clean] {
			return nil, "", archiveErrorf("entry %q appears twice", name)
		}
		seen[clean] = true
		if f.UncompressedSize64 > MaxFileSize {
			return nil, "", archiveErrorf("entry %q is %d bytes uncompressed, over the %d-byte limit for one file", name, f.UncompressedSize64, MaxFileSize)
		}
		total += f.UncompressedSize64
		if total > MaxTotalSize {
			return nil, "", archiveErrorf("archive holds over %d bytes uncompressed", MaxTotalSize)
		}
		if walk.HiddenPath(clean) || f.FileInfo().IsDir() {
			continue
		}
		if clean == metadataFile {
			hasRoot = true
		} else if path.Base(clean) == metadataFile {
			roots = append(roots, path.Dir(clean))
		}
	}
	switch {
	case hasRoot:
		return zr, "", nil
	case len(roots) == 1:
		sub, err := fs.Sub(zr, roots[0])
		if err != nil {
			return nil, "", archiveErrorf("open folder %s: %v", roots[0], err)
		}
		return sub, roots[0], nil
	case len(roots) == 0:
		return nil, "", archiveErrorf("no %s at the root or in any folder: not a task archive", metadataFile)
	default:
		sort.Strings(roots)
		return nil, "", archiveErrorf("holds %d task folders (%s); a task archive holds one", len(roots), strings.Join(roots, ", "))
	}
}

// checkEntryName rejects the names that would escape the archive if it
// were ever extracted: absolute paths, drive letters, backslashes and "..".
func checkEntryName(name string) error {
	switch {
	case name == "":
		return archiveErrorf("an entry has an empty name")
	case strings.HasPrefix(name, "/"), len(name) > 1 && name[1] == ':':
		return archiveErrorf("entry %q has an absolute path", name)
	case strings.Contains(name, `\`):
		return archiveErrorf("entry %q contains a backslash", name)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == ".." {
			return archiveErrorf("entry %q climbs out of the archive", name)
		}
	}
	if !fs.ValidPath(strings.TrimSuffix(name, "/")) {
		return archiveErrorf("entry %q is not a clean relative path", name)
	}
	return nil
}

// CheckZip says whether an archive is one the loader would take as a
// task: a readable zip within the limits, every entry name safe, the task
// at its root or in exactly one folder. It reads the archive's directory,
// not its files: a cheap check before an archive is kept anywhere.
func CheckZip(r io.ReaderAt, size int64) error {
	_, _, err := openZip(r, size)
	return err
}
