// Package httpapi serves the registry over HTTP: GraphQL and its streaming
// transports, health and readiness, metrics, the index that other
// registries pull, and the web page.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// Config is what the HTTP layer needs.
type Config struct {
	Registry *registry.Registry
	Executor *schema.Executor
	Log      *slog.Logger
	// Timeout bounds one GraphQL request; 0 means 10s.
	Timeout time.Duration
	// Content reads lazily loaded files and builds bundles.
	Content *registry.Content
	// Metrics, when set, are served on /metrics and count GraphQL requests.
	Metrics *Metrics
	// Feed is the change feed that subscriptions read; nil for none.
	Feed *registry.Feed
	// WSInitTimeout is how long a WebSocket may wait before
	// connection_init; 0 means 3s.
	WSInitTimeout time.Duration
	// MaxSubscriptions caps the subscriptions of one WebSocket; 0 means 100.
	MaxSubscriptions int
	// SSEHeartbeat is the interval of keep-alive comments; 0 means 15s.
	SSEHeartbeat time.Duration
}

// Server is the router, and the WebSockets it has taken over: those are
// out of http.Server's sight once hijacked, so Wait is how their owner
// knows they have ended.
type Server struct {
	http.Handler
	gql *graphqlHandler
}

// Wait blocks until every WebSocket session has ended; call it after the
// http.Server has shut down and the streams' context is cancelled.
func (s *Server) Wait() { s.gql.sessions.Wait() }

// New builds the router.
func New(cfg Config) *Server {
	cfg.Timeout = orDefault(cfg.Timeout, 10*time.Second)
	cfg.WSInitTimeout = orDefault(cfg.WSInitTimeout, 3*time.Second)
	cfg.SSEHeartbeat = orDefault(cfg.SSEHeartbeat, 15*time.Second)
	cfg.MaxSubscriptions = orDefault(cfg.MaxSubscriptions, 100)
	r := chi.NewRouter()
	r.Use(recoverer(cfg.Log))
	gql := &graphqlHandler{reg: cfg.Registry, feed: cfg.Feed, exec: cfg.Executor, timeout: cfg.Timeout, log: cfg.Log,
		boot: uuid.NewString()[:8], cache: newAnswerCache(256, 32<<20),
		wsInitTimeout: cfg.WSInitTimeout, maxSubscriptions: cfg.MaxSubscriptions, sseHeartbeat: cfg.SSEHeartbeat}
	r.Handle("/graphql", cfg.Metrics.instrument(gql))
	if cfg.Metrics != nil {
		r.Handle("/metrics", cfg.Metrics.Handler())
	}
	page, static, graphiql := webHandlers()
	r.Get("/", page.ServeHTTP)
	r.Handle("/static/*", static)
	r.With(middleware.Compress(5)).Handle("/graphiql", graphiql)
	r.With(middleware.Compress(5)).Handle("/graphiql/*", graphiql)
	idx := &indexHandler{reg: cfg.Registry, content: cfg.Content, log: cfg.Log}
	r.Get("/v1/index.json", idx.serveIndex)
	r.Get("/v1/tasks/{id}/{file}", idx.serveBundle)
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
	return &Server{Handler: r, gql: gql}
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
