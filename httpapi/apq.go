package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ratchet-tasks/ratchet-registry/registry/lru"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// Automatic persisted queries, as Apollo defines them: a client sends the
// SHA-256 of its query in extensions.persistedQuery; the first time, the
// server answers PersistedQueryNotFound and the client sends the query
// again with its text, which the server keeps. From then on a dashboard
// polls with a short GET that HTTP caches and ETags serve well.

// The defaults of the persisted query store: far more queries than a
// fleet of dashboards sends, and a byte budget that a flood of distinct
// queries cannot push past.
const (
	DefaultPersistedQueries     = 4096
	DefaultPersistedQueryBytes  = 16 << 20
	persistedQueryNotFound      = "PersistedQueryNotFound"
	persistedQueryNotFoundCode  = "PERSISTED_QUERY_NOT_FOUND"
	persistedQueryBadVersionMsg = "extensions.persistedQuery.version must be 1"
)

// persistedQueries keeps registered queries by their hash, least recently
// used first out, within a number and a byte budget (each query's hash
// and bookkeeping counted with its text).
type persistedQueries struct {
	lru *lru.Cache[string]

	lookups *prometheus.CounterVec
}

func newPersistedQueries(maxCount, maxBytes int) *persistedQueries {
	return &persistedQueries{lru: lru.New[string](int64(maxBytes), maxCount),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "persisted_queries_total",
			Help: "Persisted query requests, by result: hit, miss (PersistedQueryNotFound), registered, refused."}, []string{"result"})}
}

func (p *persistedQueries) get(hash string) (string, bool) { return p.lru.Get(hash) }

// put keeps a query, unless it alone is over the byte budget: it would
// push out every other query for itself.
func (p *persistedQueries) put(hash, query string) bool {
	kept, _ := p.lru.Put(hash, query, int64(len(query)))
	return kept
}

// apqError is a persisted query request that cannot run; notFound is the
// miss that a client answers by sending the query's text.
type apqError struct {
	msg      string
	notFound bool
}

func (e *apqError) Error() string { return e.msg }

// resolve fills in the query of a request that names a persisted one, and
// registers one that comes with its text. It leaves other requests alone.
// A query over maxQueryBytes is refused before it is hashed or kept.
func (p *persistedQueries) resolve(req *schema.Request, maxQueryBytes int) *apqError {
	ext, ok := req.Extensions["persistedQuery"]
	if !ok {
		return nil
	}
	refuse := func(format string, args ...any) *apqError {
		p.lookups.WithLabelValues("refused").Inc()
		return &apqError{msg: fmt.Sprintf(format, args...)}
	}
	pq, ok := ext.(map[string]any)
	if !ok {
		return refuse("extensions.persistedQuery must be an object")
	}
	if v, ok := pq["version"].(float64); !ok || v != 1 {
		return refuse(persistedQueryBadVersionMsg)
	}
	hash, _ := pq["sha256Hash"].(string)
	hash = strings.ToLower(hash)
	if len(hash) != sha256.Size*2 || strings.Trim(hash, "0123456789abcdef") != "" {
		return refuse("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
	}
	if req.Query == "" {
		q, ok := p.get(hash)
		if !ok {
			p.lookups.WithLabelValues("miss").Inc()
			return &apqError{msg: persistedQueryNotFound, notFound: true}
		}
		p.lookups.WithLabelValues("hit").Inc()
		req.Query = q
		return nil
	}
	if maxQueryBytes > 0 && len(req.Query) > maxQueryBytes {
		return refuse("query is %d bytes, over the limit of %d: not persisted", len(req.Query), maxQueryBytes)
	}
	sum := sha256.Sum256([]byte(req.Query))
	if hex.EncodeToString(sum[:]) != hash {
		return refuse("provided sha256Hash does not match the query")
	}
	if !p.put(hash, req.Query) {
		// It runs, but its client keeps sending its text: a budget kept
		// for many small queries is not given to one.
		p.lookups.WithLabelValues("refused").Inc()
		return nil
	}
	p.lookups.WithLabelValues("registered").Inc()
	return nil
}
