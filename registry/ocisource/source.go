package ocisource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Source follows a catalogue artifact in an OCI registry: a tag, which it
// resolves on every poll with one HEAD request, or a digest, which never
// moves. When the tag moves it fetches the manifest and the layers it does
// not have, and loads each task zip with the loader local zips use. When
// the registry fails, what it served before stays.
type Source struct {
	name     string
	ref      string // as configured, as RedactURL shows it
	order    int
	loader   *taskformat.Loader
	interval time.Duration
	repo     *remote.Repository
	http     *http.Client
	cache    *cache
	log      *slog.Logger

	// Bounds on what a registry may send.
	MaxManifestBytes int64
	MaxLayers        int
	MaxLayerBytes    int64
	// MaxLoadBytes is the budget of one manifest: its task layers' sizes
	// added up, each as often as it is listed, before any is downloaded;
	// and what loading them may inflate, counted as each is loaded.
	MaxLoadBytes int64
	Parallel     int // layer downloads at once

	// Last good state, touched only by the goroutine that runs the source.
	served  digest.Digest          // the manifest that results come from
	keep    map[digest.Digest]bool // its blobs, kept in the cache beside the next one's
	missing int                    // its layers that could not be fetched: the next poll asks again
	results map[string]registry.RootResult
	// A manifest refused as a whole (over its budget) and why: refused
	// again without a download or a read until the tag moves.
	refused    digest.Digest
	refusedErr error
}

// DefaultMaxLoadBytes is MaxLoadBytes unless set.
const DefaultMaxLoadBytes = 512 << 20

var _ registry.Source = (*Source)(nil)

// Config configures a source.
type Config struct {
	Name     string
	Ref      string        // REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@DIGEST
	Interval time.Duration // 0 means DefaultInterval
	Remote   Remote
	CacheDir string // blobs and the last manifest served are kept in its oci/, across restarts; "" is the user's cache folder
	// Loader reads the tasks; main shares one among every source and
	// command, so that its compiled schemas serve them all. nil gives the
	// source one of its own.
	Loader *taskformat.Loader
}

// New makes a source. It reaches no network.
func New(cfg Config, order int, log *slog.Logger) (*Source, error) {
	repo, hc, err := cfg.Remote.repository(cfg.Ref)
	if err != nil {
		return nil, registry.RedactError(fmt.Errorf("oci source %w", err), cfg.Ref)
	}
	if repo.Reference.Reference == "" {
		return nil, fmt.Errorf("oci source %s: name a tag (:stable) or a digest (@sha256:...)", registry.RedactURL(cfg.Ref))
	}
	dir := source.CacheDir(cfg.CacheDir)
	c, err := newCache(filepath.Join(dir, "oci"), cfg.Ref)
	if err != nil {
		return nil, fmt.Errorf("oci source %s: %w", registry.RedactURL(cfg.Ref), err)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	name := cfg.Name
	if name == "" {
		name = registry.RedactURL(cfg.Ref)
	}
	loader := cfg.Loader
	if loader == nil {
		loader = taskformat.NewLoader()
	}
	return &Source{name: name, ref: registry.RedactURL(cfg.Ref), order: order, loader: loader, interval: cfg.Interval, repo: repo, http: hc, cache: c, log: log,
		MaxManifestBytes: 4 << 20, MaxLayers: 10000, MaxLayerBytes: taskformat.MaxArchiveSize, MaxLoadBytes: DefaultMaxLoadBytes, Parallel: 4,
		results: map[string]registry.RootResult{}}, nil
}

func (s *Source) Name() string              { return s.name }
func (s *Source) Type() registry.SourceType { return Type }
func (s *Source) Location() string          { return s.ref }

// Run loads the artifact now, then polls the tag every interval (backing
// off while it fails) until ctx ends.
func (s *Source) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	defer s.http.CloseIdleConnections()
	return registry.Poll(ctx, s.interval, s.Load, apply, rescan)
}

// pinned is the digest the reference names, if it names one.
func (s *Source) pinned() (digest.Digest, bool) {
	d, err := s.repo.Reference.Digest()
	return d, err == nil
}

// Load resolves the reference and, when it moved, loads the artifact. A
// failure leaves what is served as it was; before anything is served, it
// serves the artifact saved at the last success, from the cache.
func (s *Source) Load(ctx context.Context) registry.Update {
	u := registry.Update{Started: time.Now()}
	u.Results, u.Complete, u.Err = s.load(ctx)
	if u.Complete {
		u.Revision = s.served.String()
	}
	return u
}

func (s *Source) load(ctx context.Context) (results []registry.RootResult, complete bool, err error) {
	if d, ok := s.pinned(); ok {
		if s.served == d && s.missing == 0 {
			return s.current(), true, nil // a digest never moves: nothing to ask
		}
		if desc, _, err := s.cache.last(); err == nil && desc.Digest == d {
			return s.artifact(ctx, desc, true) // fetches only layers missing from the cache
		}
	}
	desc, err := s.repo.Resolve(ctx, s.repo.Reference.Reference)
	if err != nil {
		return s.failed(ctx, fmt.Errorf("resolve %s: %w", s.ref, s.describe(err)))
	}
	if desc.Digest == s.served && s.missing == 0 {
		return s.current(), true, nil
	}
	results, complete, err = s.artifact(ctx, desc, true)
	if !complete {
		return s.failed(ctx, err)
	}
	return results, complete, err
}

// failed keeps what is served; before anything is, it serves the artifact
// saved at the last success, from the cache.
func (s *Source) failed(ctx context.Context, cause error) ([]registry.RootResult, bool, error) {
	if len(s.results) > 0 {
		return nil, false, cause
	}
	desc, at, err := s.cache.last()
	if err != nil {
		return nil, false, cause
	}
	results, complete, err := s.artifact(ctx, desc, false)
	if !complete {
		return nil, false, errors.Join(cause, fmt.Errorf("the artifact saved at %s cannot be served either: %w", at.UTC().Format(time.RFC3339), err))
	}
	return results, true, fmt.Errorf("%w; serving %s, saved at %s", cause, desc.Digest, at.UTC().Format(time.RFC3339))
}

// current is the last result, as a full update.
func (s *Source) current() []registry.RootResult {
	out := make([]registry.RootResult, 0, len(s.results))
	for _, r := range s.results {
		out = append(out, r)
	}
	return out
}

// artifact reads a manifest and loads its task layers: those loaded
// before keep their result, the others come from the cache or, when fetch
// is set, from the registry. When it is not complete, nothing changed;
// when it is, err says which layers could not be fetched (each is an error
// on its task). Whatever happens, the cache is pruned to what is served
// and what this manifest holds.
func (s *Source) artifact(ctx context.Context, desc ocispec.Descriptor, fetch bool) (results []registry.RootResult, complete bool, err error) {
	if desc.Digest == s.refused {
		return nil, false, s.refusedErr
	}
	accepted := map[digest.Digest]bool{desc.Digest: true} // what it holds, once it may be served
	defer func() {
		if !complete {
			accepted = nil
		}
		s.prune(accepted)
	}()
	manifest, err := s.manifest(ctx, desc, fetch)
	if err != nil {
		return nil, false, err
	}
	var layers []ocispec.Descriptor
	roots := map[string]bool{}
	var total int64
	for _, l := range manifest.Layers {
		if isTaskLayer(l) {
			layers = append(layers, l)
			roots[rootOf(l)] = !roots[rootOf(l)] // false when seen twice
			total += max(l.Size, 0)
		}
	}
	if len(layers) == 0 {
		return nil, false, fmt.Errorf("%s (%s) holds no task zip: %s", s.ref, desc.Digest, describeLayers(manifest.Layers))
	}
	if s.MaxLoadBytes > 0 && total > s.MaxLoadBytes {
		return nil, false, s.refuse(desc, fmt.Errorf("%s (%s): its %d task layers add up to %d bytes, over the %d-byte budget per manifest (max_load_bytes)",
			s.ref, desc.Digest, len(layers), total, s.MaxLoadBytes))
	}
	budget := taskformat.NewBudget("budget per load of an oci source (max_load_bytes)", s.MaxLoadBytes)
	found := map[string]registry.RootResult{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(max(s.Parallel, 1))
	failed := 0
	for _, l := range layers {
		root := rootOf(l)
		if !roots[root] {
			root += "@" + l.Digest.String() // two layers with one title: both stay, apart
		}
		key := root + "\x00" + l.Digest.String()
		// A layer's content never changes: one that loaded, or that was
		// refused for what it holds, keeps its result.
		if r, ok := s.results[key]; ok && !fetchFailed(r) {
			mu.Lock() // downloads started above write results too
			found[key] = r
			mu.Unlock()
			continue
		}
		g.Go(func() error {
			r, ok := s.layer(ctx, l, root, fetch, budget)
			mu.Lock()
			defer mu.Unlock()
			found[key] = r
			if !ok {
				failed++
			}
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	if err := budget.Err(); err != nil {
		return nil, false, s.refuse(desc, fmt.Errorf("%s (%s): %w; nothing of this manifest is served", s.ref, desc.Digest, err))
	}
	for _, l := range layers {
		accepted[l.Digest] = true
	}
	s.results, s.served, s.missing = found, desc.Digest, failed
	if failed > 0 {
		return s.current(), true, fmt.Errorf("%s (%s): %d of %d layers could not be fetched", s.ref, desc.Digest, failed, len(layers))
	}
	// The blobs of this artifact and of the one before stay: a task whose
	// new layer is broken is served stale from the old one.
	before := s.keep
	s.keep = accepted
	accepted = maps.Clone(accepted)
	maps.Copy(accepted, before)
	if fetch {
		if err := s.cache.save(desc); err != nil {
			s.log.Warn("cannot save the manifest for restarts", "source", s.name, "error", err)
		}
	}
	return s.current(), true, nil
}

// refuse remembers a manifest refused as a whole, so that polls do not
// download and read it again while the tag stays on it.
func (s *Source) refuse(desc ocispec.Descriptor, err error) error {
	s.refused, s.refusedErr = desc.Digest, err
	return err
}

// prune removes from the cache every blob that neither the artifact last
// served in full (and the one before it) nor extra holds: however often
// the tag moves, and whatever fails, the cache holds about what is served.
func (s *Source) prune(extra map[digest.Digest]bool) {
	keep := maps.Clone(s.keep)
	if keep == nil {
		keep = map[digest.Digest]bool{}
	}
	maps.Copy(keep, extra)
	if s.served != "" {
		keep[s.served] = true
	}
	if err := s.cache.prune(keep); err != nil {
		s.log.Warn("cannot prune the blob cache", "source", s.name, "error", err)
	}
}

// fetchFailed says whether a layer's result is a download that failed,
// which the next poll tries again.
func fetchFailed(r registry.RootResult) bool {
	for _, e := range r.Errors {
		if e.Kind == registry.KindFetch {
			return true
		}
	}
	return false
}

// manifest reads and checks the artifact's manifest.
func (s *Source) manifest(ctx context.Context, desc ocispec.Descriptor, fetch bool) (*ocispec.Manifest, error) {
	fail := func(err error) (*ocispec.Manifest, error) {
		return nil, fmt.Errorf("%s manifest %s: %w", s.ref, desc.Digest, err)
	}
	if !slices.Contains(manifestTypes, desc.MediaType) {
		return fail(fmt.Errorf("media type is %q: want an artifact manifest (%s)", desc.MediaType, strings.Join(manifestTypes, " or ")))
	}
	if desc.Size > s.MaxManifestBytes {
		return fail(fmt.Errorf("%d bytes, over the %d-byte limit", desc.Size, s.MaxManifestBytes))
	}
	p, ok := s.cache.has(desc)
	if !ok {
		if !fetch {
			return fail(errors.New("not in the cache"))
		}
		rc, err := s.repo.Fetch(ctx, desc)
		if err != nil {
			return fail(s.describe(err))
		}
		p, err = s.cache.put(desc, rc, nil)
		rc.Close()
		if err != nil {
			return fail(err)
		}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return fail(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fail(fmt.Errorf("not valid JSON: %w", err))
	}
	if len(m.Layers) > s.MaxLayers {
		return fail(fmt.Errorf("%d layers, over the limit of %d", len(m.Layers), s.MaxLayers))
	}
	return &m, nil
}

// layer loads one task layer; ok is false when it could not be fetched.
// A layer is checked to be a task archive before it is cached, and what
// loading it inflates is taken from budget before it is read.
func (s *Source) layer(ctx context.Context, l ocispec.Descriptor, root string, fetch bool, budget *taskformat.Budget) (res registry.RootResult, ok bool) {
	display := fmt.Sprintf("%s@%s", s.repo.Reference.Registry+"/"+s.repo.Reference.Repository, shortDigest(l.Digest))
	if t := l.Annotations[ocispec.AnnotationTitle]; t != "" {
		display += ":" + t
	}
	fail := func(kind registry.Kind, err error) (registry.RootResult, bool) {
		s.log.Warn("layer not loaded", "source", s.name, "layer", display, "error", err)
		return registry.RootResult{Root: root, Errors: []*registry.LoadError{{Source: s.name, Root: root, Path: display, Kind: kind, Err: err}}}, kind != registry.KindFetch
	}
	if l.Size > s.MaxLayerBytes || l.Size < 0 {
		return fail(registry.KindArchive, fmt.Errorf("layer is %d bytes, over the %d-byte limit", l.Size, s.MaxLayerBytes))
	}
	p, cached := s.cache.has(l)
	if !cached {
		if !fetch {
			return fail(registry.KindFetch, fmt.Errorf("layer %s is not in the cache", l.Digest))
		}
		rc, err := s.repo.Fetch(ctx, l)
		if err != nil {
			return fail(registry.KindFetch, fmt.Errorf("fetch layer %s: %w", l.Digest, s.describe(err)))
		}
		p, err = s.cache.put(l, rc, func(f *os.File, size int64) error { return taskformat.CheckZip(f, size) })
		rc.Close()
		var refused *refusedError
		switch {
		case errors.As(err, &refused):
			return fail(registry.KindArchive, fmt.Errorf("layer %s is not a task archive: %w", l.Digest, refused.err))
		case err != nil:
			return fail(registry.KindFetch, fmt.Errorf("fetch layer %s: %w", l.Digest, err))
		}
	}
	if err := budget.TakeZipFile(p); err != nil {
		return fail(registry.KindArchive, err)
	}
	res = s.loader.LoadZipFile(taskformat.Root{Source: s.name, Order: s.order, Key: root, Display: display}, p)
	if t := res.Task; t != nil {
		id, version := l.Annotations[AnnotationUUID], l.Annotations[AnnotationVersion]
		if (id != "" && id != t.ID) || (version != "" && version != t.Version) {
			return fail(registry.KindInvalid, fmt.Errorf("layer holds task %s %s, but its annotations say %s %s", t.ID, t.Version, id, version))
		}
	}
	return res, true
}

func shortDigest(d digest.Digest) string {
	if e := d.Encoded(); len(e) > 12 {
		return string(d.Algorithm()) + ":" + e[:12]
	}
	return d.String()
}

// describeLayers lists the media types of an artifact's layers, for the
// message that says none of them is a task.
func describeLayers(layers []ocispec.Descriptor) string {
	if len(layers) == 0 {
		return "it has no layers"
	}
	counts := map[string]int{}
	for _, l := range layers {
		counts[l.MediaType]++
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[t], t))
	}
	return "its layers are " + strings.Join(parts, ", ") + fmt.Sprintf("; a task layer is %s or %s", MediaTypeTask, mediaTypeZip)
}

// describe says in words what oras-go reports tersely; its other errors
// already say what the registry answered.
func (s *Source) describe(err error) error {
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return fmt.Errorf("not found in the registry: %w", err)
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Errorf("%w: the registry asks for credentials and none are configured for %s (docker login %[2]s, or username and password_env)",
			err, s.repo.Reference.Registry)
	}
	return err
}
