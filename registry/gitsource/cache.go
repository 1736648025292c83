package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	gitcache "github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/utils/ioutil"
)

// The cache's own refs: what the last fetch brought, and the commit last
// served, which a restart serves while the remote is down.
const (
	fetchedRef = plumbing.ReferenceName("refs/ratchet/fetched")
	servedRef  = plumbing.ReferenceName("refs/ratchet/served")
)

// cache is the local bare repository that one source fetches into. Only
// the source's goroutine fetches; readers share a view of their own.
type cache struct {
	dir  string
	st   *boundedStorage
	repo *git.Repository
	view *objects
}

// openCache opens the repository in dir, making it on first use.
func openCache(dir string, maxPack int64) (*cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	st := &boundedStorage{Storage: filesystem.NewStorage(osfs.New(dir), gitcache.NewObjectLRU(8*gitcache.MiByte)), dir: dir, max: maxPack}
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(st, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	// Readers keep a few packs open: opening one for every object read
	// costs more than the rest of loading a task.
	view := &objects{st: filesystem.NewStorageWithOptions(osfs.New(dir), gitcache.NewObjectLRU(4*gitcache.MiByte),
		filesystem.Options{MaxOpenDescriptors: 8})}
	return &cache{dir: dir, st: st, repo: repo, view: view}, nil
}

// has reports whether the commit and so (fetches being whole packs) its
// tree are in the cache already.
func (c *cache) has(h plumbing.Hash) bool {
	_, err := c.repo.CommitObject(h)
	return err == nil
}

// fetch brings the commit that ref names now, with its tree and no
// history (depth 1), and returns it. The remote is not written to the
// cache's configuration, so that a URL's credentials stay off the disk.
func (c *cache) fetch(ctx context.Context, r *remote, ref resolved) (plumbing.Hash, error) {
	got, err := c.fetchRef(ctx, r, ref.name)
	if err != nil {
		c.removeTemp()
		if errors.Is(err, git.ErrExactSHA1NotSupported) {
			err = fmt.Errorf("%w: the server does not let a commit be fetched by its hash; name a branch or tag", err)
		}
		return plumbing.ZeroHash, r.mask(r.explain(err))
	}
	return c.peel(got)
}

// fetchRef is `git fetch --depth 1 REMOTE +NAME:refs/ratchet/fetched`
// (name a ref, or a full commit hash) over the remote's own client, as
// go-git's Remote.Fetch does it over the client in its table. It returns
// what the ref points at: a commit, or an annotated tag.
func (c *cache) fetchRef(ctx context.Context, r *remote, name plumbing.ReferenceName) (_ plumbing.Hash, err error) {
	s, err := r.session()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer ioutil.CheckClose(s, &err)
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var want plumbing.Hash
	if fullHash.MatchString(string(name)) {
		if !ar.Capabilities.Supports(capability.AllowReachableSHA1InWant) && !ar.Capabilities.Supports(capability.AllowTipSHA1InWant) {
			return plumbing.ZeroHash, git.ErrExactSHA1NotSupported
		}
		want = plumbing.NewHash(string(name))
	} else {
		refs, err := ar.AllReferences()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		ref, err := storer.ResolveReference(refs, name)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("ref %s: %w", name, err)
		}
		want = ref.Hash()
	}
	if _, err := c.st.EncodedObject(plumbing.AnyObject, want); errors.Is(err, plumbing.ErrObjectNotFound) {
		if err := c.fetchPack(ctx, s, ar, want); err != nil {
			return plumbing.ZeroHash, err
		}
	} else if err != nil {
		return plumbing.ZeroHash, err
	}
	return want, c.st.SetReference(plumbing.NewHashReference(fetchedRef, want))
}

// fetchPack asks for want at depth 1, telling the remote what the cache
// holds already so that it sends only what changed, and stores the pack.
func (c *cache) fetchPack(ctx context.Context, s transport.UploadPackSession, ar *packp.AdvRefs, want plumbing.Hash) (err error) {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Depth = packp.DepthCommits(1)
	if err := req.Capabilities.Set(capability.Shallow); err != nil {
		return err
	}
	if ar.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return err
		}
	}
	if req.Shallows, err = c.st.Shallow(); err != nil {
		return err
	}
	req.Wants = []plumbing.Hash{want}
	if req.Haves, err = c.haves(); err != nil {
		return err
	}
	resp, err := s.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	defer ioutil.CheckClose(resp, &err)
	if len(resp.Shallows) > 0 {
		shallows := req.Shallows
		for _, h := range resp.Shallows {
			if !slices.Contains(shallows, h) {
				shallows = append(shallows, h)
			}
		}
		if err := c.st.SetShallow(shallows); err != nil {
			return err
		}
	}
	var body io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband):
		body = sideband.NewDemuxer(sideband.Sideband, resp)
	case req.Capabilities.Supports(capability.Sideband64k):
		body = sideband.NewDemuxer(sideband.Sideband64k, resp)
	}
	return packfile.UpdateObjectStorage(c.st, body)
}

// haves are the objects that the cache's refs point at: at depth 1, all
// that a remote needs to know of what the cache holds.
func (c *cache) haves() ([]plumbing.Hash, error) {
	iter, err := c.st.IterReferences()
	if err != nil {
		return nil, err
	}
	var out []plumbing.Hash
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference || slices.Contains(out, ref.Hash()) {
			return nil
		}
		if _, err := c.st.EncodedObject(plumbing.AnyObject, ref.Hash()); err == nil {
			out = append(out, ref.Hash())
		}
		return nil
	})
	return out, err
}

// peel turns an annotated tag into the commit it names.
func (c *cache) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range 5 {
		tag, err := c.repo.TagObject(h)
		if err != nil {
			break
		}
		h = tag.Target
	}
	if _, err := c.repo.CommitObject(h); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%s is not a commit: %w", h, err)
	}
	return h, nil
}

// removeTemp deletes what an interrupted fetch left: go-git writes a pack
// to a temporary file and renames it only once it is whole.
func (c *cache) removeTemp() {
	tmp, _ := filepath.Glob(filepath.Join(c.dir, "objects", "pack", "tmp_*"))
	for _, p := range tmp {
		os.Remove(p)
	}
}

// served is the commit last served, if any.
func (c *cache) served() (plumbing.Hash, bool) {
	ref, err := c.repo.Reference(servedRef, false)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	return ref.Hash(), c.has(ref.Hash())
}

func (c *cache) setServed(h plumbing.Hash) error {
	return c.st.SetReference(plumbing.NewHashReference(servedRef, h))
}

// objects is the cache as readers see it. go-git's storage is not safe
// for concurrent use, and tasks' files are read lazily by requests while
// the source fetches: readers share one storage of their own, behind a
// lock, which looks for the packs a fetch brought when it meets a commit
// it does not know. Objects are never deleted, so a task loaded at an
// older commit stays readable.
func (c *cache) objects() *objects { return c.view }

type objects struct {
	mu sync.Mutex
	st *filesystem.Storage
}

// tree is the tree of a commit at a folder ("" or "." for its root).
func (o *objects) tree(commit plumbing.Hash, dir string) (plumbing.Hash, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, err := object.GetCommit(o.st, commit)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		o.st.Reindex() // fetched since this view last read the packs
		c, err = object.GetCommit(o.st, commit)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", commit, err)
	}
	if dir == "" || dir == "." {
		return c.TreeHash, nil
	}
	t, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", commit, err)
	}
	sub, err := t.Tree(dir)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("folder %s: %w", dir, err)
	}
	return sub.Hash, nil
}

// boundedStorage holds each fetched pack back until it is whole and
// checked: go-git indexes a pack as it arrives and resolves deltas in
// memory, so a pack over the cap, or an object that inflates to
// gigabytes (zeros compress a thousandfold), is refused before go-git
// sees a byte of it.
type boundedStorage struct {
	*filesystem.Storage
	dir string
	max int64
}

func (s *boundedStorage) PackfileWriter() (io.WriteCloser, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "objects", "pack"), "tmp_spool_")
	if err != nil {
		return nil, err
	}
	return &spool{f: f, max: s.max, next: s.Storage.PackfileWriter}, nil
}

// errPackTooBig is wrapped when a fetch sends more than the caps allow.
var errPackTooBig = errors.New("pack too big")

type spool struct {
	f      *os.File
	n, max int64
	failed bool
	next   func() (io.WriteCloser, error)
}

func (w *spool) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.max {
		w.failed = true
		return 0, fmt.Errorf("%w: the remote sent over %d bytes, the limit for one fetch", errPackTooBig, w.max)
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// Close hands a whole, checked pack to go-git's own writer.
func (w *spool) Close() (err error) {
	defer os.Remove(w.f.Name())
	defer w.f.Close()
	if w.failed || w.n == 0 {
		return nil
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := checkPack(w.f); err != nil {
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	pw, err := w.next()
	if err != nil {
		return err
	}
	if _, err := io.Copy(pw, w.f); err != nil {
		pw.Close()
		return err
	}
	return pw.Close()
}

// Caps on what one pack may inflate to.
const (
	maxObject   = maxBlob   // one object
	maxInflated = 512 << 20 // all of them
	maxObjects  = 500_000
)

// checkPack reads a pack's object headers, inflating as it goes, and
// refuses one that would take more memory to index than a task
// repository ever needs. A delta's size is the size of what it builds.
func checkPack(r io.ReadSeeker) error {
	sc := packfile.NewScanner(r)
	_, count, err := sc.Header()
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if count > maxObjects {
		return fmt.Errorf("%w: %d objects, over the limit of %d", errPackTooBig, count, maxObjects)
	}
	var total int64
	for range count {
		h, err := sc.NextObjectHeader()
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		size := h.Length // known before a byte is inflated, but for a delta
		if h.Type == plumbing.OFSDeltaObject || h.Type == plumbing.REFDeltaObject {
			var head deltaHead
			if _, _, err := sc.NextObject(&head); err != nil {
				return fmt.Errorf("pack: %w", err)
			}
			size = head.target()
		}
		total += size
		switch {
		case size > maxObject:
			return fmt.Errorf("%w: an object inflates to %d bytes, over the %d-byte limit", errPackTooBig, size, maxObject)
		case total > maxInflated:
			return fmt.Errorf("%w: the objects inflate to over %d bytes", errPackTooBig, maxInflated)
		}
	}
	return nil
}

// deltaHead keeps the start of a delta, where the sizes of its base and
// of its result are written, and discards the rest.
type deltaHead struct {
	buf [32]byte
	n   int
}

func (d *deltaHead) Write(p []byte) (int, error) {
	d.n += copy(d.buf[min(d.n, len(d.buf)):], p)
	return len(p), nil
}

// target decodes the second size of the header (the first is the base's):
// little-endian groups of seven bits, the top bit saying more follow.
func (d *deltaHead) target() int64 {
	b := d.buf[:min(d.n, len(d.buf))]
	var sizes [2]int64
	i := 0
	for k := range sizes {
		shift := 0
		for i < len(b) && shift < 63 {
			c := b[i]
			i++
			sizes[k] |= int64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
	}
	return sizes[1]
}
