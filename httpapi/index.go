package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// indexHandler publishes the catalogue in the static index format, so that
// other registries can pull from this one.
type indexHandler struct {
	reg     *registry.Registry
	content *taskformat.Content
	log     *slog.Logger

	mu         sync.Mutex
	generation int64
	body       []byte
	etag       string
	// known remembers each listed task version by task digest: its bundle
	// (sha256 and size) and where its entry sits in body. Bundles are
	// deterministic, so a task whose digest was listed before costs
	// nothing: after one saved file the index builds that task's bundle
	// and renders that entry alone, and copies the others' bytes from the
	// last body. A task that turns stale, which cannot be bundled from its
	// (changed) files any more but is still served, stays listed: a
	// registry pulling from this one has that bundle.
	known map[string]listed
	// bundle builds one task's bundle (Content.Bundle; tests count calls).
	bundle func(*registry.Task) (taskformat.Bundle, error)
}

// listed is one entry of the last index: its bundle, and its bytes in the
// body (at, n; n is 0 while it has none).
type listed struct {
	bundle taskformat.Bundle
	at, n  int
}

// The index is json.MarshalIndent of a taskformat.Index with two spaces,
// written piece by piece: its head, each entry indented twice, its tail.
const (
	indexEntryIndent = "    "
	indexEntrySep    = ",\n" + indexEntryIndent
)

// index renders the index for the current snapshot once per generation.
// Bundles are deterministic, so the same catalogue gives the same bytes and
// the same ETag, even across restarts.
func (h *indexHandler) index() ([]byte, string) {
	snap := h.reg.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.body != nil && h.generation == snap.Generation {
		return h.body, h.etag
	}
	known := make(map[string]listed, len(h.known))
	api, _ := json.Marshal(taskformat.IndexAPIVersion)
	body := make([]byte, 0, len(h.body)+1024)
	body = append(body, "{\n  \"apiVersion\": "...)
	body = append(body, api...)
	body = append(body, ",\n  \"tasks\": ["...)
	entries := 0
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			l, ok := h.known[t.Digest]
			if !ok {
				b, err := h.bundle(t)
				if err != nil {
					h.log.Warn("task left out of the index", "error", fmt.Errorf("task %s %s: %w", t.ID, t.Version, err))
					continue
				}
				l = listed{bundle: taskformat.Bundle{SHA256: b.SHA256, Size: b.Size}}
			}
			if entries == 0 {
				body = append(body, "\n"+indexEntryIndent...)
			} else {
				body = append(body, indexEntrySep...)
			}
			entries++
			at := len(body)
			if l.n > 0 {
				body = append(body, h.body[l.at:l.at+l.n]...)
			} else {
				entry, _ := json.MarshalIndent(taskformat.IndexEntry{ID: t.ID, Version: t.Version, Label: t.Label, Description: t.Description,
					Bundle: taskformat.BundlePath(t.ID, t.Version), SHA256: l.bundle.SHA256, Size: l.bundle.Size}, indexEntryIndent, "  ")
				body = append(body, entry...)
			}
			l.at, l.n = at, len(body)-at
			known[t.Digest] = l
		}
	}
	if entries > 0 {
		body = append(body, "\n  "...)
	}
	body = append(body, "]\n}"...)
	sum := sha256.Sum256(body)
	h.known = known
	h.generation, h.body, h.etag = snap.Generation, body, `"`+hex.EncodeToString(sum[:16])+`"`
	return h.body, h.etag
}

func (h *indexHandler) serveIndex(w http.ResponseWriter, r *http.Request) {
	// Before the first load has finished the index would list too little:
	// a registry pulling it would drop every task it has. It waits.
	if !h.reg.Snapshot().Ready() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "loading: the index is served once every source has loaded (see /readyz)", http.StatusServiceUnavailable)
		return
	}
	body, etag := h.index()
	serveBytes(w, r, "application/json", etag, body)
}

func (h *indexHandler) serveBundle(w http.ResponseWriter, r *http.Request) {
	id, version := chi.URLParam(r, "id"), strings.TrimSuffix(chi.URLParam(r, "file"), ".zip")
	t, ok := h.reg.Snapshot().Task(id, version)
	if !ok || version == "" {
		http.Error(w, "no such task version", http.StatusNotFound)
		return
	}
	b, err := h.content.Bundle(t)
	if err != nil {
		var changed *taskformat.ErrChanged
		if errors.As(err, &changed) {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	serveBytes(w, r, "application/zip", `"`+b.SHA256+`"`, b.Data)
}

// serveBytes answers a GET with an ETag, and 304 when the client has it.
func serveBytes(w http.ResponseWriter, r *http.Request, ctype, etag string, body []byte) {
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
