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
)

// Source pulls tasks from an index.json and its bundles. When the upstream
// fails, what it served before stays.
type Source struct {
	name     string
	base     *url.URL // the folder holding index.json
	order    int
	interval time.Duration
	headers  http.Header // sent only to base's host
	client   *http.Client
	cacheDir string
	log      *slog.Logger

	// MaxIndexBytes caps the index document; Parallel caps downloads.
	MaxIndexBytes int64
	Parallel      int

	// Last good state, touched only by the goroutine that owns the source.
	etag, lastModified string
	entries            map[string]registry.IndexEntry // by root key (id@version)
	results            map[string]registry.RootResult
}

var _ registry.Source = (*Source)(nil)

// Config configures an HTTP source.
type Config struct {
	Name     string
	URL      string // the folder that holds index.json
	Interval time.Duration
	Timeout  time.Duration // one request; 0 means 30s
	Headers  map[string]string
	Token    string // bearer token; never logged
	CacheDir string // bundles by sha256, kept across restarts
}

// New makes an HTTP source. order is its position in the configuration,
// which decides conflicts.
func New(cfg Config, order int, log *slog.Logger) (*Source, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/index.json"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http source %q: not an http(s) URL", cfg.URL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		cfg.CacheDir = filepath.Join(dir, "ratchet-registry", "bundles")
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("http source %s: bundle cache: %w", cfg.URL, err)
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
		name = u.Redacted()
	}
	s := &Source{name: name, base: u, order: order, interval: cfg.Interval, headers: h, cacheDir: cfg.CacheDir, log: log,
		MaxIndexBytes: 16 << 20, Parallel: 4, entries: map[string]registry.IndexEntry{}, results: map[string]registry.RootResult{}}
	s.client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: s.checkRedirect}
	return s, nil
}

func (s *Source) Name() string              { return s.name }
func (s *Source) Type() registry.SourceType { return registry.SourceHTTP }

// Location is the URL, with any password in it masked.
func (s *Source) Location() string { return s.base.Redacted() }

// Run loads the index now, then polls it every interval (backing off
// while it fails) until ctx ends.
func (s *Source) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	return registry.Poll(ctx, s.interval, s.Load, apply, rescan)
}

// sameHost is true for URLs that may receive the configured credentials.
func (s *Source) sameHost(u *url.URL) bool {
	return u.Scheme == s.base.Scheme && u.Host == s.base.Host
}

// checkRedirect keeps credentials from following a redirect to another
// host (net/http drops Authorization then, but not custom headers).
func (s *Source) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
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
	if err == nil && !notModified {
		var idx *registry.Index
		if idx, err = registry.ParseIndex(data); err == nil {
			s.saveIndex(data)
			u.Complete, u.Results = true, s.apply(ctx, indexURL, idx)
			u.Err = failedBundles(u.Results)
			return u
		}
		err = fmt.Errorf("%s: %w", indexURL.Redacted(), err)
	}
	switch {
	case err == nil: // not modified
		u.Complete, u.Results = true, s.current()
		u.Err = failedBundles(u.Results)
	case len(s.results) == 0:
		u.Complete, u.Results, u.Err = s.fallback(ctx, indexURL, err)
	default:
		u.Err = err
	}
	return u
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
		return nil, false, fmt.Errorf("fetch %s: %w", indexURL.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, true, nil
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("fetch %s: %s", indexURL.Redacted(), resp.Status)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, s.MaxIndexBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("fetch %s: %w", indexURL.Redacted(), err)
	}
	if int64(len(data)) > s.MaxIndexBytes {
		return nil, false, fmt.Errorf("fetch %s: index is over the %d-byte limit", indexURL.Redacted(), s.MaxIndexBytes)
	}
	s.etag, s.lastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return data, false, nil
}

// savedIndex is where the last good index of this source is kept, beside
// the bundles, so that a restart while the upstream is down still serves.
func (s *Source) savedIndex() string {
	sum := sha256.Sum256([]byte(s.base.String()))
	return filepath.Join(s.cacheDir, "index-"+hex.EncodeToString(sum[:8])+".json")
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
	idx, err := registry.ParseIndex(data)
	if err != nil {
		return false, nil, cause
	}
	saved := "earlier"
	if st, err := os.Stat(s.savedIndex()); err == nil {
		saved = "at " + st.ModTime().UTC().Format(time.RFC3339)
	}
	results := s.apply(ctx, indexURL, idx)
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

// apply loads what a new index lists: entries whose bundle is unchanged keep
// their result; the others are downloaded (bounded) and loaded. A bundle
// that fails is an error on its task, not on the source.
func (s *Source) apply(ctx context.Context, indexURL *url.URL, idx *registry.Index) []registry.RootResult {
	entries := map[string]registry.IndexEntry{}
	results := map[string]registry.RootResult{}
	var todo []registry.IndexEntry
	for _, e := range idx.Tasks {
		key := e.ID + "@" + e.Version
		entries[key] = e
		if old, ok := s.entries[key]; ok && old.SHA256 == e.SHA256 && s.results[key].Task != nil {
			results[key] = s.results[key]
			continue
		}
		todo = append(todo, e)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(s.Parallel, 1))
	for _, e := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := s.fetchBundle(ctx, indexURL, e)
			mu.Lock()
			results[r.Root] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	s.entries, s.results = entries, results
	return s.current()
}

// fetchBundle gets one bundle, from the disk cache when its sha256 is
// there, and loads it with the zip loader that local files use.
func (s *Source) fetchBundle(ctx context.Context, indexURL *url.URL, e registry.IndexEntry) registry.RootResult {
	key := e.ID + "@" + e.Version
	ref, err := url.Parse(e.Bundle)
	display := e.Bundle
	fail := func(err error) registry.RootResult {
		s.log.Warn("bundle not loaded", "source", s.name, "bundle", display, "error", err)
		return registry.RootResult{Root: key, Errors: []*registry.LoadError{{Source: s.name, Root: key, Path: display, Kind: registry.KindFetch, Err: err}}}
	}
	if err != nil {
		return fail(fmt.Errorf("bundle URL: %w", err))
	}
	u := indexURL.ResolveReference(ref)
	display = u.Redacted()
	cached := filepath.Join(s.cacheDir, e.SHA256+".zip")
	if st, err := os.Stat(cached); err != nil || st.Size() != e.Size {
		if err := s.download(ctx, u, e, cached); err != nil {
			return fail(err)
		}
	}
	res := registry.LoadZipFile(registry.Root{Source: s.name, Order: s.order, Key: key, Display: display}, cached)
	if res.Task != nil && (res.Task.ID != e.ID || res.Task.Version != e.Version) {
		return fail(fmt.Errorf("bundle holds task %s %s, but the index says %s %s", res.Task.ID, res.Task.Version, e.ID, e.Version))
	}
	return res
}

// download writes a bundle into the cache only once its size and sha256
// match the index: a file in the cache is always a good one.
func (s *Source) download(ctx context.Context, u *url.URL, e registry.IndexEntry, dst string) error {
	resp, err := s.get(ctx, u, false)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
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
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, e.Size+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return fmt.Errorf("fetch: %w", err)
	case n != e.Size:
		return fmt.Errorf("bundle is %s bytes, the index says %d", sizeString(n, e.Size), e.Size)
	case hex.EncodeToString(h.Sum(nil)) != e.SHA256:
		return fmt.Errorf("bundle sha256 is %s, the index says %s", hex.EncodeToString(h.Sum(nil)), e.SHA256)
	}
	return os.Rename(tmp.Name(), dst)
}

func sizeString(n, limit int64) string {
	if n > limit {
		return fmt.Sprintf("over %d", limit)
	}
	return fmt.Sprint(n)
}
