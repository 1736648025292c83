// Package httpapi serves the registry over HTTP: GraphQL and its streaming
// transports, health and readiness, metrics, the index that other
// registries pull, and the web page.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// Config is what the HTTP layer needs.
type Config struct {
	Registry *registry.Registry
	Executor *schema.Executor // its Limits bound each request, on every transport
	Log      *slog.Logger
	// Content reads lazily loaded files and builds bundles.
	Content *taskformat.Content
	// Metrics, when set, are served on /metrics and count GraphQL requests.
	Metrics *Metrics
	// Feed is the change feed that subscriptions read; nil for none.
	Feed *registry.Feed
	// WSInitTimeout is how long a WebSocket may wait before
	// connection_init; 0 means DefaultWSInitTimeout.
	WSInitTimeout time.Duration
	// MaxSubscriptions caps the subscriptions of one WebSocket; 0 means
	// DefaultSocketSubscriptions.
	MaxSubscriptions int
	// AnswerCacheBytes is the budget of the answer cache, every encoding
	// of every answer counted, and apart of the rendered list items that
	// answers after a save are made from; 0 means DefaultAnswerCacheBytes.
	AnswerCacheBytes int64
	// MaxPersistedQueries and PersistedQueryBytes bound the queries kept
	// for automatic persisted queries; 0 means the defaults.
	MaxPersistedQueries, PersistedQueryBytes int
	// SSEHeartbeat is the interval of keep-alive comments; 0 means
	// DefaultSSEHeartbeat.
	SSEHeartbeat time.Duration

	// Addr is the address the server is bound to: its host is answered
	// besides localhost and loopback addresses (see hostPolicy).
	Addr string
	// AllowedHosts are more Host names to answer; "*" answers any.
	AllowedHosts []string
	// CORSOrigins may read answers from a browser; none by default.
	CORSOrigins []string
	// Limits of what is held open at once; 0 means the default of each.
	Limits Limits
}

// Limits bound connections and streams. Each refusal is clear (503, or a
// GraphQL error naming the limit) and /healthz, /readyz and /metrics keep
// answering when connections run out.
type Limits struct {
	MaxConnections    int // open TCP connections
	MaxStreams        int // open SSE and WebSocket streams
	MaxSubscriptions  int // subscriptions across all streams
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration // a whole request with its body
	IdleTimeout       time.Duration // a keep-alive connection between requests
}

// The defaults of Limits are what a server on a developer's machine
// needs, well under the usual 1,024 file descriptors.
const (
	DefaultMaxConnections    = 512
	DefaultMaxStreams        = 256
	DefaultMaxSubscriptions  = 1024
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
)

// The defaults of Config's WSInitTimeout, SSEHeartbeat and
// MaxSubscriptions (of one WebSocket).
const (
	DefaultWSInitTimeout       = 3 * time.Second
	DefaultSSEHeartbeat        = 15 * time.Second
	DefaultSocketSubscriptions = 100
)

// DefaultLimits are the defaults of Limits.
func DefaultLimits() Limits {
	return Limits{MaxConnections: DefaultMaxConnections, MaxStreams: DefaultMaxStreams, MaxSubscriptions: DefaultMaxSubscriptions,
		ReadHeaderTimeout: DefaultReadHeaderTimeout, ReadTimeout: DefaultReadTimeout, IdleTimeout: DefaultIdleTimeout}
}

func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	return Limits{
		MaxConnections: orDefault(l.MaxConnections, d.MaxConnections), MaxStreams: orDefault(l.MaxStreams, d.MaxStreams),
		MaxSubscriptions:  orDefault(l.MaxSubscriptions, d.MaxSubscriptions),
		ReadHeaderTimeout: orDefault(l.ReadHeaderTimeout, d.ReadHeaderTimeout),
		ReadTimeout:       orDefault(l.ReadTimeout, d.ReadTimeout), IdleTimeout: orDefault(l.IdleTimeout, d.IdleTimeout),
	}
}

// Server is the router, and the WebSockets it has taken over: those are
// out of http.Server's sight once hijacked, so Wait is how their owner
// knows they have ended.
type Server struct {
	http.Handler
	gql    *graphqlHandler
	limits Limits
}

// Wait blocks until every WebSocket session has ended; call it after the
// http.Server has shut down and the streams' context is cancelled.
func (s *Server) Wait() { s.gql.sessions.Wait() }

// New builds the router.
func New(cfg Config) *Server {
	cfg.WSInitTimeout = orDefault(cfg.WSInitTimeout, DefaultWSInitTimeout)
	cfg.SSEHeartbeat = orDefault(cfg.SSEHeartbeat, DefaultSSEHeartbeat)
	cfg.MaxSubscriptions = orDefault(cfg.MaxSubscriptions, DefaultSocketSubscriptions)
	limits := cfg.Limits.orDefaults()
	r := chi.NewRouter()
	r.Use(recoverer(cfg.Log))
	r.Use(newHostPolicy(cfg.Addr, cfg.AllowedHosts).middleware)
	r.Use(spareConnections)
	if len(cfg.CORSOrigins) > 0 {
		r.Use(corsMiddleware(cfg.CORSOrigins))
	}
	gql := &graphqlHandler{reg: cfg.Registry, feed: cfg.Feed, exec: cfg.Executor, log: cfg.Log,
		cache:   newAnswerCache(orDefault(cfg.AnswerCacheBytes, DefaultAnswerCacheBytes)),
		lists:   schema.NewListCache(orDefault(cfg.AnswerCacheBytes, DefaultAnswerCacheBytes)),
		codings: newCodings(),
		persisted: newPersistedQueries(orDefault(cfg.MaxPersistedQueries, DefaultPersistedQueries),
			orDefault(cfg.PersistedQueryBytes, DefaultPersistedQueryBytes)),
		wsInitTimeout: cfg.WSInitTimeout, maxSubscriptions: cfg.MaxSubscriptions, sseHeartbeat: cfg.SSEHeartbeat,
		originPatterns: originHosts(cfg.CORSOrigins),
		streams:        newGauge("server.max_streams", limits.MaxStreams),
		subscriptions:  newGauge("server.max_subscriptions", limits.MaxSubscriptions)}
	r.Handle("/graphql", cfg.Metrics.instrument(gql))
	if cfg.Metrics != nil {
		cfg.Metrics.prom.MustRegister(append(gql.cache.collectors(), gql.persisted.lookups, listCacheBytes(gql.lists))...)
		r.Handle("/metrics", cfg.Metrics.Handler())
	}
	page, static, graphiql := webHandlers()
	r.Get("/", page.ServeHTTP)
	r.Handle("/static/*", static)
	r.With(middleware.Compress(5)).Handle("/graphiql", graphiql)
	r.With(middleware.Compress(5)).Handle("/graphiql/*", graphiql)
	idx := &indexHandler{reg: cfg.Registry, content: cfg.Content, log: cfg.Log}
	idx.bundle = cfg.Content.Bundle
	r.Get("/v1/index.json", idx.serveIndex)
	r.Get("/v1/tasks/{id}/{file}", idx.serveBundle)
	r.Get("/schemas/{name}", serveTaskSchema)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !cfg.Registry.Snapshot().Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("loading\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return &Server{Handler: r, gql: gql, limits: limits}
}

// HTTPServer is an http.Server for this handler with the read and idle
// timeouts of its limits; base is the context of every request (streams
// end when it does).
func (s *Server) HTTPServer(base context.Context) *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: s.limits.ReadHeaderTimeout, ReadTimeout: s.limits.ReadTimeout,
		IdleTimeout: s.limits.IdleTimeout, ConnContext: connContext,
		BaseContext: func(net.Listener) context.Context { return base }}
}

// Listener caps the connections accepted from ln at MaxConnections, with
// a few more kept for /healthz, /readyz and /metrics.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return newLimitListener(ln, s.limits.MaxConnections, spareHeadroom)
}

// recoverer keeps a panic in one request from taking down the server, and
// answers it the way a GraphQL client can read.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.Error("panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
					writeJSON(w, "application/json", http.StatusInternalServerError, errorBody("internal server error"))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

type gqlError struct {
	Message string `json:"message"`
}

// errorBody is a GraphQL response with errors and no data entry.
func errorBody(msg string) map[string]any {
	return map[string]any{"errors": []gqlError{{Message: msg}}}
}

func writeJSON(w http.ResponseWriter, mediaType string, status int, v any) {
	body, _ := json.Marshal(v)
	writeBody(w, mediaType, status, body)
}

func writeBody(w http.ResponseWriter, mediaType string, status int, body []byte) {
	w.Header().Set("Content-Type", mediaType+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
