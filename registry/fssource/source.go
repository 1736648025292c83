// Package fssource is the filesystem source: a task folder, a task .zip, or
// a collection holding any number of either at any depth. It owns its
// watcher, and the settling of files caught half saved, and hands the
// registry updates that cost what the change costs, not what the
// collection holds.
package fssource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/immutable"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
	ftree "github.com/ratchet-tasks/ratchet-registry/watcher/walk"
)

// Config configures a filesystem source.
type Config struct {
	Name  string         // defaults to Path
	Path  string         // as the user gave it; shown in messages
	Watch watcher.Config // how to notice changes; Mode off for none
	// FollowSymlinksOutside lets symlinks lead outside Path. By default a
	// symlink that resolves outside is a load error: it could serve any
	// file the server can read as a task's main.js.
	FollowSymlinksOutside bool
	// Loader reads the tasks; main shares one among every source and
	// command, so that its compiled schemas serve them all. nil gives the
	// source one of its own.
	Loader *taskformat.Loader
	// CatchUpSlack is how far before a load's start a change counts as
	// possibly unseen by it; 0 means DefaultCatchUpSlack. Tests that need
	// a file older than the load shorten it rather than wait.
	CatchUpSlack time.Duration
}

// Source is a path on disk.
type Source struct {
	name         string
	display      string // the path as the user gave it, for messages
	abs          string
	order        int
	catchUpSlack time.Duration // see Config.CatchUpSlack
	loader       *taskformat.Loader
	log          *slog.Logger
	watcher      *watcher.Watcher
	// within is the source's folder with its symlinks resolved, which
	// symlinks may not leave; "" when they may.
	within string
	// tree is the source's folder as the walker and the loader read it;
	// tests put a failing layer here.
	tree func(dir string) fs.FS

	// known holds the task roots found so far, sorted, so that the roots
	// under a changed folder are found without scanning them all; true
	// for an entry known only as one that could not be read, with no
	// root known beneath it. Only the goroutine that runs the source
	// touches it, and only once a scan is complete.
	known *immutable.SortedMap[string, bool]
	// scanEnded and scanTook time the last full scan, which bounds how
	// often the periodic one runs. Only the source's goroutine uses them.
	scanEnded time.Time
	scanTook  time.Duration
	watching  chan struct{} // see Watching
	watchOnce sync.Once
	// loadedSince is when the first load began, less catchUpSlack, and
	// loadedRoot the source folder it read: what changed after, or a
	// folder put in its place, is read again once the watcher is set up.
	loadedSince int64
	loadedRoot  ftree.ID
}

var (
	_ registry.Source = (*Source)(nil)
	_ registry.Live   = (*Source)(nil)
)

// New makes a filesystem source. order is its position in the
// configuration, which decides conflicts.
func New(cfg Config, order int, log *slog.Logger) (*Source, error) {
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Path, err)
	}
	name := cfg.Name
	if name == "" {
		name = cfg.Path
	}
	loader := cfg.Loader
	if loader == nil {
		loader = taskformat.NewLoader()
	}
	s := &Source{name: name, display: filepath.Clean(cfg.Path), abs: abs, order: order, log: log, loader: loader,
		catchUpSlack: cmp.Or(cfg.CatchUpSlack, DefaultCatchUpSlack),
		known:        immutable.NewSortedMap[string, bool](nil), tree: taskformat.DirFS, watching: make(chan struct{})}
	if !cfg.FollowSymlinksOutside {
		s.within = abs
		s.tree = func(dir string) fs.FS { return taskformat.ConfinedFS(dir, s.within) }
	}
	watch := cfg.Watch
	watch.Group = s.Group
	s.watcher = watcher.New(abs, watch, log)
	return s, nil
}

func (s *Source) Name() string              { return s.name }
func (s *Source) Type() registry.SourceType { return Type }
func (s *Source) Location() string          { return s.display }

// Watching is closed once the source's watcher follows every folder and
// what changed during its setup has been read: it sets up after the
// first load, and from then on every save shows at once.
func (s *Source) Watching() <-chan struct{} { return s.watching }

// Watch is how the source is watched now: the mode in force (after any
// fallback), the folders watched, the folders polled and how long a
// round of them takes.
func (s *Source) Watch() registry.WatchStatus {
	st := s.watcher.Status()
	return registry.WatchStatus{Mode: string(st.Mode), Watches: st.Watches, Polled: st.Polled, PollRound: st.PollRound}
}

// Run loads the source, applies the load, then sets up its watcher and
// applies each batch of changes until ctx ends. The catalogue is served
// as soon as it is loaded: at 100,000 tasks the watcher's setup is
// seconds of listing folders and placing watches, which would share the
// cores with the load if it ran alongside and delay it by as much.
// Nothing saved meanwhile is lost: as the watcher follows each folder, it
// sends whatever changed after the load began (CatchUpSlack before, for
// filesystems that keep times to the second). A save made before its
// folder is followed shows once the setup is done, not at once.
func (s *Source) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	ctx, stop := context.WithCancel(ctx)
	batches := make(chan watcher.Batch)
	watchErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	since := time.Now().Add(-s.catchUpSlack)
	s.loadedSince, s.loadedRoot = since.UnixNano(), ftree.FolderID(s.abs)
	u, ok := s.scan(ctx, time.Time{})
	if !ok {
		return nil // ctx ended
	}
	apply(u)
	wg.Go(func() { watchErr <- s.watcher.RunSince(ctx, batches, since) })
	return s.follow(ctx, apply, batches, rescan, watchErr)
}

// DefaultCatchUpSlack is how far before a load's start a change counts as
// possibly unseen by it: the granularity of the coarsest file times (FAT
// keeps two seconds). A file changed just before is read again, which
// changes nothing.
const DefaultCatchUpSlack = 2 * time.Second

// scan walks the whole source and loads every task root in lexical order,
// as one complete update: what Run does first and on every rescan. It
// returns false when ctx ended first, in which case nothing changed.
func (s *Source) scan(ctx context.Context, seen time.Time) (registry.Update, bool) {
	u := registry.Update{Complete: true, Started: time.Now(), Seen: seen}
	if err := s.checkRoot(); err != nil {
		return s.rootFailed(u, err), true
	}
	known := immutable.NewSortedMap[string, bool](nil)
	var ok bool
	if u.Results, _, ok = s.discover(ctx, ".", &known); !ok {
		return registry.Update{}, false
	}
	switch {
	case len(u.Results) > 0:
	case s.isFile():
		// A path given by mistake (a file of a task) must not pass as a
		// catalogue that is empty for now.
		u.Err = errors.New("not a task .zip nor a folder: give a task folder, a task .zip or a folder of either")
	case taskformat.HoldsFiles(taskformat.DirFS(s.abs), "."):
		// Nor the parent of the tasks.
		u.Err = fmt.Errorf("no task found under %s: no folder in it holds a metadata.json, and it holds no .zip", s.display)
	}
	s.known = known
	s.scanEnded = time.Now()
	s.scanTook = s.scanEnded.Sub(u.Started)
	return u, true
}

// loadAll loads roots on every core and returns their results in the
// order of roots, so that conflicts resolve as if loaded one by one. It
// returns false, after every worker has stopped, when ctx ends first.
func (s *Source) loadAll(ctx context.Context, roots []string) ([]registry.RootResult, bool) {
	results := make([]registry.RootResult, len(roots))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(roots)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(roots) {
					return
				}
				results[i] = s.load(roots[i])
			}
		})
	}
	wg.Wait()
	return results, ctx.Err() == nil
}

// reload re-reads only the task roots that the changed paths touch, and
// finds roots that appeared or vanished under changed folders. Its cost
// follows the change, not the size of the source. It returns false when
// ctx ended first, or the source folder is gone, in which case nothing
// changed.
func (s *Source) reload(ctx context.Context, paths []string, seen time.Time) (registry.Update, bool) {
	u := registry.Update{Started: time.Now(), Seen: seen}
	if err := s.checkRoot(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// The source folder gone is the watcher's to report, with a
			// full rescan: it may be back, unchanged, before the watcher
			// has seen it go, and then nothing went.
			return registry.Update{}, false
		}
		return s.rootFailed(u, err), true
	}
	var scopes []string
	for _, p := range paths {
		if rel, ok := s.rel(p); ok {
			scopes = append(scopes, s.scope(rel))
		}
	}
	known := s.known
	for _, d := range ftree.Outermost(scopes) {
		results, removed, ok := s.discover(ctx, d, &known)
		if !ok {
			return registry.Update{}, false
		}
		u.Results = append(u.Results, results...)
		u.Removed = append(u.Removed, removed...)
	}
	s.known = known
	return u, true
}

// checkRoot makes sure the source's folder itself can be read. Its own
// symlinks are the user's choice: confinement starts inside it.
func (s *Source) checkRoot() error {
	if s.within != "" {
		real, err := filepath.EvalSymlinks(s.abs)
		if err != nil {
			return err
		}
		s.within = real
	}
	_, err := os.Stat(s.abs)
	return err
}

// rootFailed is the update of a source whose folder cannot be read. When
// it is gone, its tasks go with their files; when it is there but cannot
// be read (permissions, out of file descriptors), what it served stays.
func (s *Source) rootFailed(u registry.Update, err error) registry.Update {
	u.Err = taskformat.UnwrapPath(err)
	u.Complete = errors.Is(err, fs.ErrNotExist)
	if u.Complete {
		s.known = immutable.NewSortedMap[string, bool](nil)
	}
	return u
}

// discover finds and loads the task roots at or under d, updating known,
// and lists the known roots that are gone. A folder or file that cannot be
// read is an IO error on every known root beneath it, which keeps serving
// its last good task, stale; with no known root beneath it, the entry is
// an error of its own, kept among the roots so that it clears when the
// entry can be read again or is gone.
func (s *Source) discover(ctx context.Context, d string, known **immutable.SortedMap[string, bool]) (results []registry.RootResult, removed []string, ok bool) {
	found, unreadable := s.find(ctx, d)
	now := make(map[string]bool, len(found))
	for _, r := range found {
		now[r] = true
	}
	for _, bad := range unreadable {
		for _, r := range s.affected(bad.Path) {
			if !now[r] {
				now[r] = true
				le := &registry.LoadError{Source: s.name, Root: r, Path: s.displayPath(bad.Path), Kind: registry.KindIO,
					Err: fmt.Errorf("%s: %w", s.cannot(bad, r), bad.Err)}
				results = append(results, registry.RootResult{Root: r, Errors: []*registry.LoadError{le}})
				unread, ok := s.known.Get(r)
				*known = (*known).Set(r, unread || !ok)
			}
		}
	}
	for _, r := range knownUnder(s.known, d) {
		if !now[r] {
			removed = append(removed, r)
			*known = (*known).Delete(r)
		}
	}
	loaded, ok := s.loadAll(ctx, found)
	if !ok {
		return nil, nil, false
	}
	for _, r := range found {
		*known = (*known).Set(r, false)
	}
	return append(results, loaded...), removed, true
}

// find lists the task roots at or under d, and what could not be read,
// as taskformat.Discover does; a source whose path is a .zip is that one
// task root, ".".
// The walk stops at the next folder once ctx ends: at 100,000 tasks it
// is seconds, which a shutdown should not wait for.
func (s *Source) find(ctx context.Context, d string) ([]string, []*fs.PathError) {
	if d == "." && s.isFile() {
		if st, err := os.Stat(s.abs); err == nil && st.Mode().IsRegular() && taskformat.IsZip(s.abs) {
			return []string{"."}, nil
		}
		return nil, nil // a FIFO or a device is never opened
	}
	return taskformat.Discover(untilDone{FS: s.tree(s.abs), ctx: ctx}, d)
}

// untilDone is a tree whose folders cannot be listed once ctx has ended.
type untilDone struct {
	fs.FS
	ctx context.Context
}

func (u untilDone) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := u.ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return fs.ReadDir(u.FS, name)
}

func (u untilDone) Stat(name string) (fs.FileInfo, error) { return fs.Stat(u.FS, name) }

// isFile reports whether the source's path is there and is not a folder:
// a task .zip given as the path, or a path given by mistake.
func (s *Source) isFile() bool {
	st, err := os.Stat(s.abs)
	return err == nil && !st.IsDir()
}

// rel turns an absolute path into a root key, or false when it is outside
// the source.
func (s *Source) rel(p string) (string, bool) {
	r, err := filepath.Rel(s.abs, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// scope is the part of the source to re-read for a change at rel: the
// outermost task root that holds it (a folder inside a task is part of
// that task, even if it holds a metadata.json of its own), else rel itself.
func (s *Source) scope(rel string) string {
	best := rel
	fsys := taskformat.DirFS(s.abs)
	for a := rel; ; a = path.Dir(a) {
		if _, ok := s.known.Get(a); ok || taskformat.IsRoot(fsys, a) {
			best = a
		}
		if a == "." {
			return best
		}
	}
}

func (s *Source) abspath(key string) string { return filepath.Join(s.abs, filepath.FromSlash(key)) }

func (s *Source) displayPath(key string) string {
	if key == "." {
		return s.display
	}
	return filepath.Join(s.display, filepath.FromSlash(key))
}

// affected lists the known roots whose files lie at or under an entry that
// cannot be read: the root that holds it, or those beneath it; the entry
// itself when there are none.
func (s *Source) affected(key string) []string {
	for a := key; ; a = path.Dir(a) {
		if _, ok := s.known.Get(a); ok {
			return []string{a}
		}
		if a == "." {
			break
		}
	}
	if under := knownUnder(s.known, key); len(under) > 0 {
		return under
	}
	return []string{key}
}

// cannot says what could not be done to an unreadable entry, and what the
// entry is to root, the task its error is attached to: the task's own
// folder or archive, a collection folder that held it, or, with no task
// known beneath it, a folder that may hold some.
func (s *Source) cannot(bad *fs.PathError, root string) string {
	what := "this folder, which may hold tasks"
	switch {
	case root == bad.Path && s.isZip(root):
		what = "this task archive"
	case root == bad.Path && s.unread(root):
		// Never read: nothing says what it is.
	case root == bad.Path:
		what = "this task folder"
	case strings.HasPrefix(root, bad.Path+"/") || bad.Path == ".":
		what = "this collection folder, which held the task " + root
	default:
		what = "an entry of the task " + root // a file or folder inside it
	}
	switch bad.Op {
	case taskformat.OpSearch:
		return "cannot look into " + what
	case "readdir":
		return "cannot list " + what
	}
	return "cannot " + bad.Op + " " + what
}

// unread reports whether key was never read as a task root: unknown, or
// known only as an entry that could not be read.
func (s *Source) unread(key string) bool {
	unread, ok := s.known.Get(key)
	return unread || !ok
}

// isZip reports whether the root at key is a task archive.
func (s *Source) isZip(key string) bool { return taskformat.IsZip(s.abspath(key)) }

// knownUnder lists the roots of known at or under key.
func knownUnder(known *immutable.SortedMap[string, bool], key string) []string {
	var out []string
	it := known.Iterator()
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
func (s *Source) load(key string) registry.RootResult {
	r := taskformat.Root{Source: s.name, Order: s.order, Key: key, Display: s.displayPath(key)}
	p := s.abspath(key)
	if taskformat.IsZip(p) {
		// The walk refuses links that leave; this catches a zip that was
		// replaced by one since.
		return s.loader.LoadZipWithin(r, p, s.within)
	}
	return s.loader.LoadDir(r, s.tree(p))
}

// Group maps a changed path to the task root that holds it, for the
// watcher's per-task debounce. It only reads the disk, so it is safe to
// call from the watcher's goroutine.
func (s *Source) Group(p string) string {
	rel, ok := s.rel(p)
	if !ok {
		return p
	}
	group := path.Dir(rel)
	fsys := taskformat.DirFS(s.abs)
	for a := rel; ; a = path.Dir(a) {
		if taskformat.IsRoot(fsys, a) {
			group = a
		}
		if a == "." {
			return group
		}
	}
}
