package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	// w writes the index, reusing the entries of tasks listed before.
	w taskformat.IndexWriter
	// bundle builds one task's bundle (Content.Bundle; tests count calls).
	bundle func(*registry.Task) (taskformat.Bundle, error)
}

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
	body, errs := h.w.Write(snap, h.bundle)
	for _, err := range errs {
		h.log.Warn("task left out of the index", "error", err)
	}
	sum := sha256.Sum256(body)
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
