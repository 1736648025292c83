package registry

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/benbjohnson/immutable"
)

// FSSource loads tasks from a path on disk: a task folder, a task .zip, or
// a collection holding any number of either at any depth.
type FSSource struct {
	name    string
	display string // the path as the user gave it, for messages
	abs     string
	order   int

	// known holds the task roots found so far, sorted, so that the roots
	// under a changed folder are found without scanning them all. Only the
	// goroutine that owns the source touches it.
	known *immutable.SortedMap[string, struct{}]
}

var _ Source = (*FSSource)(nil)

// NewFSSource makes a filesystem source. order is its position in the
// configuration, which decides conflicts.
func NewFSSource(name, dir string, order int) (*FSSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", dir, err)
	}
	return &FSSource{name: name, display: filepath.Clean(dir), abs: abs, order: order,
		known: immutable.NewSortedMap[string, struct{}](nil)}, nil
}

func (s *FSSource) Name() string     { return s.name }
func (s *FSSource) Type() string     { return "filesystem" }
func (s *FSSource) Location() string { return s.display }

// Dir is the absolute path the source reads, for the watcher.
func (s *FSSource) Dir() string { return s.abs }

// Scan walks the whole source and loads every task root in lexical order.
func (s *FSSource) Scan(ctx context.Context) ([]RootResult, error) {
	if _, err := os.Stat(s.abs); err != nil {
		s.known = immutable.NewSortedMap[string, struct{}](nil)
		return nil, &FallbackError{Err: unwrapPath(err)} // shown beside the source's path
	}
	roots := s.discover(".")
	s.known = immutable.NewSortedMap[string, struct{}](nil)
	out := make([]RootResult, 0, len(roots))
	for _, r := range roots {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out = append(out, s.load(r))
		s.known = s.known.Set(r, struct{}{})
	}
	return out, nil
}

// Reload re-reads only the task roots that the changed paths touch, and
// finds roots that appeared or vanished under changed folders. Its cost
// follows the change, not the size of the source.
func (s *FSSource) Reload(ctx context.Context, paths []string) (changed []RootResult, removed []string, err error) {
	if _, err := os.Stat(s.abs); err != nil {
		removed = s.knownUnder(".")
		s.known = immutable.NewSortedMap[string, struct{}](nil)
		return nil, removed, &FallbackError{Err: unwrapPath(err)}
	}
	var scopes []string
	for _, p := range paths {
		if rel, ok := s.rel(p); ok {
			scopes = append(scopes, s.scope(rel))
		}
	}
	for _, d := range outermost(scopes) {
		if ctx.Err() != nil {
			return changed, removed, ctx.Err()
		}
		found := s.discover(d)
		now := make(map[string]bool, len(found))
		for _, r := range found {
			now[r] = true
		}
		for _, r := range s.knownUnder(d) {
			if !now[r] {
				removed = append(removed, r)
				s.known = s.known.Delete(r)
			}
		}
		for _, r := range found {
			changed = append(changed, s.load(r))
			s.known = s.known.Set(r, struct{}{})
		}
	}
	return changed, removed, nil
}

// rel turns an absolute path into a root key, or false when it is outside
// the source.
func (s *FSSource) rel(p string) (string, bool) {
	r, err := filepath.Rel(s.abs, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// scope is the part of the source to re-read for a change at rel: the
// outermost task root that holds it (a folder inside a task is part of
// that task, even if it holds a metadata.json of its own), else rel itself.
func (s *FSSource) scope(rel string) string {
	best := rel
	for a := rel; ; a = path.Dir(a) {
		if _, ok := s.known.Get(a); ok || s.isRoot(a) {
			best = a
		}
		if a == "." {
			return best
		}
	}
}

func (s *FSSource) abspath(key string) string { return filepath.Join(s.abs, filepath.FromSlash(key)) }

func (s *FSSource) displayPath(key string) string {
	if key == "." {
		return s.display
	}
	return filepath.Join(s.display, filepath.FromSlash(key))
}

// isRoot reports whether key is a task now: a .zip file, or a folder with
// an entry named metadata.json that is not a folder.
func (s *FSSource) isRoot(key string) bool {
	p := s.abspath(key)
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	if st.Mode().IsRegular() {
		return isZip(p)
	}
	if !st.IsDir() {
		return false
	}
	m, err := os.Stat(filepath.Join(p, metadataFile))
	return err == nil && !m.IsDir()
}

func isZip(p string) bool { return strings.EqualFold(filepath.Ext(p), ".zip") }

// discover lists the task roots at or under key, in lexical order.
func (s *FSSource) discover(key string) []string {
	if key != "." && hiddenPath(key) {
		return nil
	}
	var out []string
	s.walk(key, nil, &out)
	sort.Strings(out)
	return out
}

type fileID struct{ dev, ino uint64 }

// walk follows symlinks, but never into a folder that is already on the
// path from the top: a symlink cycle ends there.
func (s *FSSource) walk(key string, ancestors []fileID, out *[]string) {
	p := s.abspath(key)
	st, err := os.Stat(p)
	if err != nil {
		return
	}
	if st.Mode().IsRegular() {
		if isZip(p) {
			*out = append(*out, key)
		}
		return
	}
	if !st.IsDir() {
		return // FIFOs, sockets, devices: never opened
	}
	id := idOf(st)
	for _, a := range ancestors {
		if a == id {
			return
		}
	}
	if m, err := os.Stat(filepath.Join(p, metadataFile)); err == nil && !m.IsDir() {
		*out = append(*out, key)
		return
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return
	}
	ancestors = append(ancestors, id)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s.walk(path.Join(key, e.Name()), ancestors, out)
	}
}

func idOf(st os.FileInfo) fileID {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(sys.Dev), uint64(sys.Ino)}
	}
	return fileID{}
}

// knownUnder lists the known roots at or under key.
func (s *FSSource) knownUnder(key string) []string {
	var out []string
	it := s.known.Iterator()
	if key != "." {
		it.Seek(key)
	}
	for !it.Done() {
		k, _, _ := it.Next()
		if key != "." && k != key && !strings.HasPrefix(k, key+"/") {
			if k > key+"/" {
				break
			}
			continue
		}
		out = append(out, k)
	}
	return out
}

// load reads one task root, folder or archive.
func (s *FSSource) load(key string) RootResult {
	p := s.abspath(key)
	if isZip(p) {
		return loadZipFile(s.name, s.order, key, p, s.displayPath(key))
	}
	in := loadInput{source: s.name, order: s.order, root: key, display: s.displayPath(key), sep: string(filepath.Separator),
		fsys: dirFS(p), origin: origin{dir: p}}
	t, errs := loadTask(in)
	return RootResult{Root: key, Task: t, Errors: errs}
}

// loadZipFile loads a task archive on disk: a local .zip or a downloaded
// bundle. display names it in messages.
func loadZipFile(source string, order int, key, p, display string) RootResult {
	fail := func(kind Kind, err error) RootResult {
		return RootResult{Root: key, Errors: []*LoadError{{Source: source, Root: key, Path: display, Kind: kind, Err: err}}}
	}
	f, err := os.Open(p)
	if err != nil {
		return fail(KindIO, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(KindIO, unwrapPath(err))
	}
	fsys, prefix, err := openZip(f, st.Size())
	if err != nil {
		return fail(KindArchive, err)
	}
	in := loadInput{source: source, order: order, root: key, display: display, sep: "!/",
		fsys: fsys, origin: origin{zip: p, prefix: prefix}, maxFile: MaxFileSize}
	if prefix != "" {
		in.sep += prefix + "/"
	}
	t, errs := loadTask(in)
	for _, e := range errs {
		if errors.Is(e.Err, zip.ErrChecksum) || errors.Is(e.Err, zip.ErrFormat) || errors.Is(e.Err, zip.ErrAlgorithm) {
			e.Kind = KindArchive // a corrupt entry shows up only when it is read
		}
	}
	return RootResult{Root: key, Task: t, Errors: errs}
}

// unwrapPath drops the absolute path that os puts in its errors: the
// message already names the file as the user gave it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// outermost drops every key that lies under another key of the list.
func outermost(keys []string) []string {
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		set[k] = true
	}
	var out []string
	for k := range set {
		under := false
		for a := k; a != "." && !under; {
			a = path.Dir(a)
			under = set[a]
		}
		if !under {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Group maps a changed path to the task root that holds it, for the
// watcher's per-task debounce. It only reads the disk, so it is safe to
// call from the watcher's goroutine.
func (s *FSSource) Group(p string) string {
	rel, ok := s.rel(p)
	if !ok {
		return p
	}
	group := path.Dir(rel)
	for a := rel; ; a = path.Dir(a) {
		if s.isRoot(a) {
			group = a
		}
		if a == "." {
			return group
		}
	}
}

// fingerprint summarises the sizes and times of a root's files, and says
// when the newest was written, to tell a file still being written from one
// that is done.
func (s *FSSource) fingerprint(key string) (string, time.Time) {
	var b strings.Builder
	var newest time.Time
	_ = filepath.WalkDir(s.abspath(key), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", p, info.Size(), info.ModTime().UnixNano())
			if info.ModTime().After(newest) {
				newest = info.ModTime()
			}
		}
		return nil
	})
	return b.String(), newest
}
