// Package httpsource is the HTTP source: it pulls tasks from an index.json
// and its bundles (another registry's /v1, or the output of
// `ratchet-registry index` on any static host) on the shared poll schedule
// of remote sources, and keeps serving what it had when the upstream fails.
package httpsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// Source pulls tasks from an index.json and its bundles. When the upstream
// fails, what it served before stays. The upstream is not trusted: bundles
// come from the index's own origin unless allowed elsewhere, are checked
// before they are cached, and one that fails is asked for again only
// after a back-off of its own.
type Source struct {
	name       string
	base       *url.URL // the folder holding index.json
	order      int
	loader     *taskformat.Loader
	interval   time.Duration
	headers    http.Header // sent only to base's host
	allowHosts []string    // hosts besides base's that bundles may come from; "*" for any
	client     *http.Client
	cacheDir   string // this source's own folder of the bundle cache
	log        *slog.Logger
	clock      func() time.Time // when bundles that failed come due

	// maxIndexBytes caps the index document, maxBundleBytes one bundle;
	// parallel caps downloads. retryAfter is how long a bundle that failed
	// waits before it is fetched again, doubled at each failure up to an
	// hour.
	maxIndexBytes  int64
	maxBundleBytes int64
	parallel       int
	retryAfter     time.Duration
	// MaxLoadBytes is the budget of one load: the sizes of the bundles
	// it fetches added up, each as often as the index lists it, before
	// any is fetched; and what loading them inflates, counted as each is
	// loaded. An index over it is refused as a whole.
	MaxLoadBytes int64

	// Last good state, touched only by the goroutine that owns the source.
	etag, lastModified string
	index              *taskformat.Index                // the last good index
	earlier            map[string]bool                  // sha256s of the good index before it
	entries            map[string]taskformat.IndexEntry // by root key (id@version)
	results            map[string]registry.RootResult
	failed             map[string]failure // bundles that failed, by root key
	// An index refused as a whole (over the budget), by its sha256, and
	// why: the same index is refused again without a bundle read.
	refused    [32]byte
	refusedErr error
}

// DefaultMaxLoadBytes is MaxLoadBytes unless set.
const DefaultMaxLoadBytes = 512 << 20

// failure is a bundle that failed, and when it may be fetched again.
type failure struct {
	sha256 string
	count  int
	next   time.Time
}

var _ registry.Source = (*Source)(nil)

// Config configures an HTTP source.
type Config struct {
	Name     string
	URL      string        // the folder that holds index.json
	Interval time.Duration // 0 means DefaultInterval
	Timeout  time.Duration // one request; 0 means DefaultTimeout
	Headers  map[string]string
	Token    string // bearer token; never logged
	CacheDir string // bundles by sha256, kept across restarts, in a folder per source
	// AllowHosts are the hosts (host or host:port) besides the index's
	// own that bundles, and redirects, may lead to; "*" allows any. By
	// default an index cannot make the registry fetch from anywhere else.
	AllowHosts []string
	// Loader reads the tasks; main shares one among every source and
	// command, so that its compiled schemas serve them all. nil gives the
	// source one of its own.
	Loader *taskformat.Loader
}

// New makes an HTTP source. order is its position in the configuration,
// which decides conflicts.
func New(cfg Config, order int, log *slog.Logger) (*Source, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/index.json"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http source %q: not an http(s) URL", registry.RedactURL(cfg.URL))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(source.CacheDir(""), "bundles")
	}
	// A folder per source: pruning one source's bundles never touches
	// another's.
	sum := sha256.Sum256([]byte(u.String()))
	cacheDir := filepath.Join(cfg.CacheDir, "http-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("http source %s: bundle cache: %w", shown(u), err)
	}
	h := http.Header{}
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	if cfg.Token != "" {
		h.Set("Authorization", "Bearer "+cfg.Token)
	}
	name := cfg.Name
	if name == "" {
		name = shown(u)
	}
	loader := cfg.Loader
	if loader == nil {
		loader = taskformat.NewLoader()
	}
	s := &Source{name: name, base: u, order: order, loader: loader, interval: cfg.Interval, headers: h, allowHosts: cfg.AllowHosts, cacheDir: cacheDir, log: log,
		maxIndexBytes: 16 << 20, maxBundleBytes: taskformat.MaxArchiveSize, parallel: 4, retryAfter: time.Minute, MaxLoadBytes: DefaultMaxLoadBytes,
		clock: time.Now, entries: map[string]taskformat.IndexEntry{}, results: map[string]registry.RootResult{}, failed: map[string]failure{}}
	s.client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: s.checkRedirect}
	return s, nil
}

func (s *Source) Name() string              { return s.name }
func (s *Source) Type() registry.SourceType { return Type }

// Location is the URL, with any password in it masked.
func (s *Source) Location() string { return shown(s.base) }

// Run loads the index now, then polls it every interval (backing off
// while it fails) until ctx ends.
func (s *Source) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	return registry.Poll(ctx, s.interval, s.Load, apply, rescan)
}

// shown is a URL as it may be shown: a password, or a token written as
// the user name (https://TOKEN@host/, which net/http sends as basic auth),
// masked.
func shown(u *url.URL) string { return registry.RedactURL(u.String()) }

// sameHost is true for URLs that may receive the configured credentials.
func (s *Source) sameHost(u *url.URL) bool {
	return u.Scheme == s.base.Scheme && u.Host == s.base.Host
}

// allowed is true for URLs the source may fetch: on the index's origin,
// or on a host of allow_hosts.
func (s *Source) allowed(u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	if s.sameHost(u) {
		return true
	}
	for _, h := range s.allowHosts {
		if h == "*" || strings.EqualFold(h, u.Host) || strings.EqualFold(h, u.Hostname()) && u.Port() == "" {
			return true
		}
	}
	return false
}

// errNotAllowed is a URL outside the index's origin and allow_hosts: it is
// never requested, so that an index cannot make the registry reach, or
// learn the size and digest of, what only the registry can reach.
func (s *Source) errNotAllowed(u *url.URL) error {
	return fmt.Errorf("%s is not on the index's origin %s://%s; add %q to allow_hosts to fetch from it",
		shown(u), s.base.Scheme, s.base.Host, u.Host)
}

// checkRedirect keeps every request on allowed hosts, and credentials from
// following a redirect to another host (net/http drops Authorization
// then, but not custom headers).
func (s *Source) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !s.allowed(req.URL) {
		return fmt.Errorf("redirect: %w", s.errNotAllowed(req.URL))
	}
	if !s.sameHost(req.URL) {
		for k := range s.headers {
			req.Header.Del(k)
		}
	}
	return nil
}

func (s *Source) get(ctx context.Context, u *url.URL, conditional bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if s.sameHost(u) {
		for k, v := range s.headers {
			req.Header[k] = v
		}
	}
	if conditional {
		if s.etag != "" {
			req.Header.Set("If-None-Match", s.etag)
		}
		if s.lastModified != "" {
			req.Header.Set("If-Modified-Since", s.lastModified)
		}
	}
	return s.client.Do(req)
}

// Load fetches the index (conditionally) and any bundle not seen before.
// An index that fails leaves everything as it was; a bundle that fails is
// an error on its task, whose last good version stays served. After a
// start with the upstream down, the index saved at the last success is
// served, with the failure shown on the source.
func (s *Source) Load(ctx context.Context) registry.Update {
	u := registry.Update{Started: time.Now()}
	indexURL := s.base.ResolveReference(&url.URL{Path: "index.json"})
	data, notModified, err := s.fetchIndex(ctx, indexURL)
	if err == nil && !notModified && sha256.Sum256(data) == s.refused {
		err = s.refusedErr
	} else if err == nil && !notModified {
		var idx *taskformat.Index
		if idx, err = taskformat.ParseIndex(data); err == nil {
			var results []registry.RootResult
			if results, err = s.apply(ctx, indexURL, idx); err == nil {
				s.refusedErr = nil
				s.saveIndex(data)
				if s.index != nil {
					s.earlier = digests(s.index)
				}
				s.index = idx
				u.Complete, u.Results = true, results
				u.Err = failedBundles(u.Results)
				s.prune()
				return u
			}
			s.refused, s.refusedErr = sha256.Sum256(data), fmt.Errorf("%s: %w", shown(indexURL), err)
			s.prune() // what it fetched goes
		}
		err = fmt.Errorf("%s: %w", shown(indexURL), err)
	}
	switch {
	case err == nil && s.index != nil: // not modified: only bundles that failed and are due are fetched
		u.Results, err = s.apply(ctx, indexURL, s.index)
		u.Complete = err == nil
		u.Err = errors.Join(err, failedBundles(u.Results), s.refusedErr)
	case err == nil:
		u.Complete, u.Results = true, s.current()
	case len(s.results) == 0:
		u.Complete, u.Results, u.Err = s.fallback(ctx, indexURL, err)
	default:
		u.Err = err
	}
	return u
}

// digests are the sha256s of the bundles an index lists.
func digests(idx *taskformat.Index) map[string]bool {
	out := make(map[string]bool, len(idx.Tasks))
	for _, e := range idx.Tasks {
		out[e.SHA256] = true
	}
	return out
}

// prune removes from the cache every bundle that neither the current index
// nor the good one before it lists, and downloads left half done: a
// hostile or busy upstream cannot fill the disk, and a rollback to the
// last index costs nothing.
func (s *Source) prune() {
	if s.index == nil {
		return // nothing served yet: the saved index's bundles stay for a restart
	}
	keep := digests(s.index)
	entries, err := os.ReadDir(s.cacheDir)
	if err != nil {
		s.log.Warn("cannot prune the bundle cache", "source", s.name, "error", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		sum, isBundle := strings.CutSuffix(name, ".zip")
		if !isBundle && !strings.HasPrefix(name, ".download-") || isBundle && (keep[sum] || s.earlier[sum]) {
			continue
		}
		if err := os.Remove(filepath.Join(s.cacheDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cannot prune the bundle cache", "source", s.name, "error", err)
		}
	}
}

// failedBundles is the failure of a source whose index loaded but some of
// whose bundles did not: each is an error on its task, and the source as a
// whole is degraded and backs off until they load.
func failedBundles(results []registry.RootResult) error {
	failed := 0
	for _, r := range results {
		if r.Task == nil {
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d bundles failed", failed, len(results))
}

// fetchIndex GETs the index, conditionally once there is something to
// compare with.
func (s *Source) fetchIndex(ctx context.Context, indexURL *url.URL) (data []byte, notModified bool, err error) {
	resp, err := s.get(ctx, indexURL, len(s.results) > 0)
	if err != nil {
		return nil, false, fmt.Errorf("fetch %s: %w", shown(indexURL), registry.RedactError(err, indexURL.String()))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, true, nil
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("fetch %s: %s", shown(indexURL), resp.Status)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, s.maxIndexBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("fetch %s: %w", shown(indexURL), err)
	}
	if int64(len(data)) > s.maxIndexBytes {
		return nil, false, fmt.Errorf("fetch %s: index is over the %d-byte limit", shown(indexURL), s.maxIndexBytes)
	}
	s.etag, s.lastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return data, false, nil
}

// savedIndex is where the last good index of this source is kept, beside
// the bundles, so that a restart while the upstream is down still serves.
func (s *Source) savedIndex() string {
	return filepath.Join(s.cacheDir, "index.json")
}

func (s *Source) saveIndex(data []byte) {
	tmp, err := os.CreateTemp(s.cacheDir, ".index-*")
	if err != nil {
		s.log.Warn("cannot save the index for restarts", "source", s.name, "error", err)
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.savedIndex())
	}
	if err != nil {
		os.Remove(tmp.Name())
		s.log.Warn("cannot save the index for restarts", "source", s.name, "error", err)
	}
}

// fallback serves the index saved at the last success, with the bundles
// cached beside it, when the upstream cannot be read after a start. The
// results are complete when there is such an index.
func (s *Source) fallback(ctx context.Context, indexURL *url.URL, cause error) (bool, []registry.RootResult, error) {
	data, err := os.ReadFile(s.savedIndex())
	if err != nil {
		return false, nil, cause
	}
	idx, err := taskformat.ParseIndex(data)
	if err != nil {
		return false, nil, cause
	}
	saved := "earlier"
	if st, err := os.Stat(s.savedIndex()); err == nil {
		saved = "at " + st.ModTime().UTC().Format(time.RFC3339)
	}
	results, err := s.apply(ctx, indexURL, idx)
	if err != nil {
		return false, nil, errors.Join(cause, fmt.Errorf("the index saved %s cannot be served either: %w", saved, err))
	}
	s.index = idx
	// Conditional GETs must not match an index that was never fetched in
	// this process: the next success starts from a full download.
	s.etag, s.lastModified = "", ""
	return true, results, fmt.Errorf("%w; serving the index saved %s", cause, saved)
}

// current is the last result, as a full update.
func (s *Source) current() []registry.RootResult {
	out := make([]registry.RootResult, 0, len(s.results))
	for _, r := range s.results {
		out = append(out, r)
	}
	return out
}

// apply loads what an index lists: entries whose bundle is unchanged keep
// their result; so do bundles that failed, until their back-off is over;
// the others are downloaded (bounded) and loaded. A bundle that fails is
// an error on its task, not on the source.
func (s *Source) apply(ctx context.Context, indexURL *url.URL, idx *taskformat.Index) ([]registry.RootResult, error) {
	now := s.clock()
	entries := map[string]taskformat.IndexEntry{}
	results := map[string]registry.RootResult{}
	var todo []taskformat.IndexEntry
	for _, e := range idx.Tasks {
		key := e.ID + "@" + e.Version
		entries[key] = e
		old, seen := s.entries[key]
		switch f, failed := s.failed[key]; {
		case seen && old.SHA256 == e.SHA256 && s.results[key].Task != nil:
			results[key] = s.results[key]
			continue
		case failed && f.sha256 == e.SHA256 && now.Before(f.next) && seen:
			results[key] = s.results[key]
			continue
		}
		todo = append(todo, e)
	}
	var listed int64
	for _, e := range todo {
		listed += max(e.Size, 0)
	}
	if s.MaxLoadBytes > 0 && listed > s.MaxLoadBytes {
		return nil, fmt.Errorf("the %d bundles to fetch add up to %d bytes, over the %d-byte budget per load (max_load_bytes); nothing of this index is served",
			len(todo), listed, s.MaxLoadBytes)
	}
	budget := taskformat.NewBudget("budget per load of an http source (max_load_bytes)", s.MaxLoadBytes)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(s.parallel, 1))
	for _, e := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := s.fetchBundle(ctx, indexURL, e, budget)
			mu.Lock()
			results[r.Root] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := budget.Err(); err != nil {
		return nil, fmt.Errorf("%w; nothing of this index is served", err)
	}
	failed := map[string]failure{}
	for _, e := range todo {
		key := e.ID + "@" + e.Version
		if results[key].Task != nil {
			continue
		}
		f := s.failed[key]
		if f.sha256 != e.SHA256 {
			f = failure{sha256: e.SHA256}
		}
		f.count++
		f.next = now.Add(registry.Backoff(s.retryAfter, time.Hour, f.count)) // an hour at most
		failed[key] = f
	}
	for key, f := range s.failed {
		if _, retried := failed[key]; !retried && results[key].Task == nil && entries[key].SHA256 == f.sha256 {
			failed[key] = f // still waiting
		}
	}
	s.entries, s.results, s.failed = entries, results, failed
	return s.current(), nil
}

// fetchBundle gets one bundle, from the disk cache when its sha256 is
// there, and loads it with the zip loader that local files use.
func (s *Source) fetchBundle(ctx context.Context, indexURL *url.URL, e taskformat.IndexEntry, budget *taskformat.Budget) registry.RootResult {
	key := e.ID + "@" + e.Version
	ref, err := url.Parse(e.Bundle)
	display := registry.RedactURL(e.Bundle)
	fail := func(err error) registry.RootResult {
		s.log.Warn("bundle not loaded", "source", s.name, "bundle", display, "error", err)
		return registry.RootResult{Root: key, Errors: []*registry.LoadError{{Source: s.name, Root: key, Path: display, Kind: registry.KindFetch, Err: err}}}
	}
	if err != nil {
		return fail(registry.RedactError(fmt.Errorf("bundle URL: %w", err), e.Bundle))
	}
	u := indexURL.ResolveReference(ref)
	display = shown(u)
	if !s.allowed(u) {
		return fail(s.errNotAllowed(u))
	}
	if e.Size > s.maxBundleBytes {
		return fail(fmt.Errorf("bundle is %d bytes by the index, over the %d-byte limit", e.Size, s.maxBundleBytes))
	}
	cached := filepath.Join(s.cacheDir, e.SHA256+".zip")
	if st, err := os.Stat(cached); err != nil || st.Size() != e.Size {
		if err := s.download(ctx, u, e, cached); err != nil {
			return fail(err)
		}
	}
	// Each listing counts: an index may name one bundle many times.
	if err := budget.TakeZipFile(cached); err != nil {
		return fail(err)
	}
	res := s.loader.LoadZipFile(taskformat.Root{Source: s.name, Order: s.order, Key: key, Display: display}, cached)
	if res.Task != nil && (res.Task.ID != e.ID || res.Task.Version != e.Version) {
		os.Remove(cached) // the upstream lied about it: nothing of it stays
		return fail(fmt.Errorf("bundle holds task %s %s, but the index says %s %s", res.Task.ID, res.Task.Version, e.ID, e.Version))
	}
	return res
}

// download writes a bundle into the cache only once its size and sha256
// match the index and it is a task archive the loader would take: a file
// in the cache is always a good one.
func (s *Source) download(ctx context.Context, u *url.URL, e taskformat.IndexEntry, dst string) error {
	resp, err := s.get(ctx, u, false)
	if err != nil {
		return fmt.Errorf("fetch: %w", registry.RedactError(err, u.String()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch: %s", resp.Status)
	}
	tmp, err := os.CreateTemp(s.cacheDir, ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, e.Size+1))
	switch {
	case err != nil:
		return fmt.Errorf("fetch: %w", err)
	case n != e.Size:
		return fmt.Errorf("bundle is %s bytes, the index says %d", sizeString(n, e.Size), e.Size)
	case hex.EncodeToString(h.Sum(nil)) != e.SHA256:
		return fmt.Errorf("bundle sha256 is %s, the index says %s", hex.EncodeToString(h.Sum(nil)), e.SHA256)
	}
	if err := taskformat.CheckZip(tmp, n); err != nil {
		return fmt.Errorf("bundle is not a task archive: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	return os.Rename(tmp.Name(), dst)
}

func sizeString(n, limit int64) string {
	if n > limit {
		return fmt.Sprintf("over %d", limit)
	}
	return fmt.Sprint(n)
}
