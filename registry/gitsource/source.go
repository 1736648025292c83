package gitsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// Config configures a git source.
type Config struct {
	Name     string
	URL      string        // https://, http://, ssh://, user@host:path, git:// or file://
	Ref      string        // a branch, a tag or a full commit hash; "" is the remote's HEAD
	Path     string        // the folder in the repository that holds the tasks; "" is its root
	Interval time.Duration // between asks whether the ref moved; 0 means DefaultInterval
	Timeout  time.Duration // one ls-remote or fetch; 0 means DefaultTimeout
	Token    string        // HTTP(S) basic auth password, sent only to the URL's host; never logged
	SSHKey   string        // private key file for ssh
	// SSHKnownHosts is the known_hosts file that checks the server's key;
	// "" uses ~/.ssh/known_hosts, as ssh does.
	SSHKnownHosts string
	CacheDir      string // the folder that holds the local repositories; "" is the user's cache folder
	MaxFetchBytes int64  // the most one fetch may bring; 0 means 64 MiB
	// MaxAdvertisementBytes is the most a remote's list of refs may be
	// over HTTP(S); 0 means DefaultMaxAdvertisementBytes.
	MaxAdvertisementBytes int64
	// Loader reads the tasks; main shares one among every source and
	// command, so that its compiled schemas serve them all. nil gives the
	// source one of its own.
	Loader *taskformat.Loader
	// MaxTaskBytes and MaxLoadBytes cap what loading reads from git
	// objects, each read counted (a tree may name one blob many times):
	// one task, 0 meaning DefaultMaxTaskBytes (what a task zip may
	// inflate to), and one load, 0 meaning DefaultMaxLoadBytes.
	MaxTaskBytes int64
	MaxLoadBytes int64
}

// Source serves the tasks of one folder of one ref of a git repository.
type Source struct {
	name     string
	order    int
	loader   *taskformat.Loader
	ref      string
	dir      string // Path, cleaned; "." for the root
	interval time.Duration
	timeout  time.Duration
	remote   *remote
	cache    *cache
	log      *slog.Logger
	maxTask  int64
	maxLoad  int64

	// What is served, touched only by the goroutine that runs the source.
	commit plumbing.Hash // zero before the first load
	tree   plumbing.Hash // the tree of dir at commit
	known  map[string]bool
	// A commit whose load went over its budget, and why: it would again,
	// so it is not read again at every poll, only once the ref moves.
	refused    plumbing.Hash
	refusedErr error
}

var _ registry.Source = (*Source)(nil)

// New makes a git source; order is its position in the configuration,
// which decides conflicts. Nothing is fetched until Run.
func New(cfg Config, order int, log *slog.Logger) (*Source, error) {
	rem, err := newRemote(cfg.URL, cfg.Token, cfg.SSHKey, cfg.SSHKnownHosts, cfg.MaxAdvertisementBytes)
	if err != nil {
		return nil, fmt.Errorf("git source: %w", err)
	}
	dir := path.Clean("/" + strings.Trim(cfg.Path, "/"))[1:]
	if dir == "" {
		dir = "."
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxFetchBytes <= 0 {
		cfg.MaxFetchBytes = 64 << 20
	}
	if cfg.MaxTaskBytes <= 0 {
		cfg.MaxTaskBytes = DefaultMaxTaskBytes
	}
	if cfg.MaxLoadBytes <= 0 {
		cfg.MaxLoadBytes = DefaultMaxLoadBytes
	}
	cfg.CacheDir = source.CacheDir(cfg.CacheDir)
	name := cfg.Name
	if name == "" {
		name = rem.display
	}
	// One repository per source: two sources never fetch into one.
	sum := sha256.Sum256([]byte(strings.Join([]string{rem.display, cfg.Ref, dir, name}, "\x00")))
	c, err := openCache(filepath.Join(cfg.CacheDir, "git", hex.EncodeToString(sum[:8])), cfg.MaxFetchBytes)
	if err != nil {
		return nil, fmt.Errorf("git source %s: %w", rem.display, err)
	}
	loader := cfg.Loader
	if loader == nil {
		loader = taskformat.NewLoader()
	}
	return &Source{name: name, order: order, loader: loader, ref: cfg.Ref, dir: dir, interval: cfg.Interval, timeout: cfg.Timeout,
		remote: rem, cache: c, log: log, maxTask: cfg.MaxTaskBytes, maxLoad: cfg.MaxLoadBytes, known: map[string]bool{}}, nil
}

// CheckURL reports whether url is one a git source can fetch from.
func CheckURL(url string) error {
	if url == "" {
		return errors.New("a git source needs a url")
	}
	_, err := newRemote(url, "", "", "", 0)
	return err
}

func (s *Source) Name() string              { return s.name }
func (s *Source) Type() registry.SourceType { return Type }

// Location is the URL with any credentials in it masked.
func (s *Source) Location() string { return s.remote.display }

// Run loads the ref now, then asks the remote every interval whether it
// moved (backing off while it fails) until ctx ends.
func (s *Source) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	return registry.Poll(ctx, s.interval, s.Load, apply, rescan)
}

// Load asks the remote where the ref points and, when it moved, fetches
// that commit and loads the task roots that changed. An unchanged ref
// costs one ls-remote and gives an empty update; a failure leaves what
// is served as it is, except on the first load, which serves the commit
// served last time from the cache.
func (s *Source) Load(ctx context.Context) registry.Update {
	u := registry.Update{Started: time.Now()}
	commit, err := s.fetch(ctx)
	switch {
	case err == nil && commit == s.commit:
		return u
	case err == nil && commit == s.refused:
		err = s.refusedErr
	case err == nil:
		loaded := s.loadCommit(commit, u)
		if loaded.Err == nil {
			return loaded
		}
		var over *taskformat.BudgetError
		if errors.As(loaded.Err, &over) {
			s.refused, s.refusedErr = commit, loaded.Err
		}
		err = loaded.Err
	}
	if s.commit.IsZero() {
		if last, ok := s.cache.served(); ok && last != commit {
			u = s.loadCommit(last, u)
			if u.Err == nil {
				u.Err = fmt.Errorf("%w; serving commit %s from the cache", err, short(last))
				return u
			}
		}
	}
	u.Err = err
	return u
}

// fetch finds the commit the ref names now and makes sure the cache has it.
func (s *Source) fetch(ctx context.Context) (plumbing.Hash, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if fullHash.MatchString(s.ref) && s.cache.has(plumbing.NewHash(s.ref)) {
		return plumbing.NewHash(s.ref), nil // a commit never moves: nothing to ask
	}
	refs, err := s.remote.list(ctx)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("ls-remote %s: %w", s.Location(), err)
	}
	res, err := resolve(refs, s.ref)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("ls-remote %s: %w", s.Location(), err)
	}
	if s.cache.has(res.commit) {
		return res.commit, nil // unchanged, or back to a commit fetched before
	}
	start := time.Now()
	commit, err := s.cache.fetch(ctx, s.remote, res)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetch %s from %s: %w", res.name.Short(), s.Location(), err)
	}
	s.log.Info("fetched", "source", s.name, "ref", res.name.Short(), "commit", short(commit), "took", time.Since(start).Round(time.Millisecond))
	return commit, nil
}

// loadCommit loads the roots that differ between the commit served and
// this one. The first load is complete; the others say what changed. A
// load that reads past its budget stops there and changes nothing.
func (s *Source) loadCommit(commit plumbing.Hash, u registry.Update) registry.Update {
	obj := s.cache.objects()
	tree, err := obj.tree(commit, s.dir)
	if err != nil {
		u.Err = fmt.Errorf("%s@%s: %w", s.Location(), short(commit), err)
		return u
	}
	w := &walker{obj: obj}
	var d delta
	if err := w.diff(s.tree, tree, ".", &d); err != nil {
		u.Err = fmt.Errorf("%s@%s: %w", s.Location(), short(commit), err)
		return u
	}
	budget := taskformat.NewBudget("budget per load of a git source (max_load_bytes)", s.maxLoad)
	for _, key := range d.load {
		u.Results = append(u.Results, s.loadRoot(obj, commit, tree, key, budget))
		if err := budget.Err(); err != nil {
			u.Results = nil
			u.Err = fmt.Errorf("%s@%s: loading stopped at %s: %w; nothing of this commit is served", s.Location(), short(commit), key, err)
			return u
		}
	}
	u.Complete = s.commit.IsZero()
	u.Removed = d.gone(s.known)
	for _, k := range u.Removed {
		delete(s.known, k)
	}
	for _, key := range d.load {
		s.known[key] = true
	}
	if u.Complete {
		u.Removed = nil
	}
	s.commit, s.tree = commit, tree
	u.Revision = commit.String()
	if err := s.cache.setServed(commit); err != nil {
		s.log.Warn("cannot record the commit served for restarts", "source", s.name, "error", err)
	}
	return u
}

// loadRoot loads one task root: a folder, read through a view of the
// tree that stays readable while the task is served, or a zip blob.
func (s *Source) loadRoot(obj *objects, commit, tree plumbing.Hash, key string, load *taskformat.Budget) registry.RootResult {
	root := taskformat.Root{Source: s.name, Order: s.order, Key: key, Display: s.display(commit, key)}
	budget := load.Sub("budget per task of a git source (max_task_bytes)", s.maxTask)
	defer budget.End() // what requests read later is not the load's
	res := s.readRoot(obj, root, treeFS{obj: obj, root: tree, budget: budget})
	if err := budget.Err(); err != nil {
		// The file it stopped at shows the budget as a warning or an
		// error of its own; the task as a whole is what goes over.
		return failed(root, registry.KindIO, err)
	}
	return res
}

// readRoot loads a task root through fsys, a view of the commit's tree.
func (s *Source) readRoot(obj *objects, root taskformat.Root, fsys treeFS) registry.RootResult {
	key := root.Key
	if !taskformat.IsZip(key) {
		sub := fsys
		if key != "." {
			obj.mu.Lock()
			e, err := fsys.entry("open", key)
			obj.mu.Unlock()
			if err != nil {
				return failed(root, registry.KindIO, err)
			}
			sub.root = e.Hash
		}
		return s.loader.LoadFS(root, sub)
	}
	f, err := fsys.Open(key)
	if err != nil {
		return failed(root, registry.KindIO, err)
	}
	defer f.Close()
	st, _ := f.Stat()
	switch {
	case st.Mode()&os.ModeSymlink != 0:
		return failed(root, registry.KindArchive, errors.New("a symbolic link: links in a git source are not followed"))
	case !st.Mode().IsRegular():
		return failed(root, registry.KindArchive, errors.New("not a regular file"))
	case st.Size() > taskformat.MaxArchiveSize:
		return failed(root, registry.KindArchive, fmt.Errorf("archive is %d bytes, over the %d-byte limit", st.Size(), taskformat.MaxArchiveSize))
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return failed(root, registry.KindIO, err)
	}
	// What its entries inflate to is read too, from memory.
	inflated, err := taskformat.ZipInflated(bytes.NewReader(data), int64(len(data)))
	if err == nil {
		err = fsys.budget.Take(inflated)
	}
	if err != nil {
		return failed(root, registry.KindArchive, err)
	}
	return s.loader.LoadZip(root, bytes.NewReader(data), int64(len(data)))
}

func failed(r taskformat.Root, kind registry.Kind, err error) registry.RootResult {
	return registry.RootResult{Root: r.Key, Errors: []*registry.LoadError{{Source: r.Source, Root: r.Key, Path: r.Display, Kind: kind, Err: err}}}
}

// display names a task root as https://host/repo.git@3f2c1ab:tasks/add:
// the repository, the commit it was loaded at, and where it is in it.
func (s *Source) display(commit plumbing.Hash, key string) string {
	p := path.Join(s.dir, key)
	if p == "." {
		return s.Location() + "@" + short(commit)
	}
	return s.Location() + "@" + short(commit) + ":" + p
}

func short(h plumbing.Hash) string { return h.String()[:7] }
