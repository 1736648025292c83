package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// Main is the server that serve runs: its configuration, and the parts
// wired from it, in the manner of wtf's cmd/wtfd. Run starts every part
// and returns once the server listens; Close stops them all, gracefully.
type Main struct {
	Config Config
	Log    *slog.Logger

	// Listener, when set, is served instead of a listener on
	// Config.Server.Addr.
	Listener net.Listener

	// startTests starts the test runner when Config.Tests.Enabled; a
	// test replaces it with one that fails.
	startTests func(ctx context.Context) (stop func(), err error)

	feed     *registry.Feed
	registry *registry.Registry
	metrics  *httpapi.Metrics
	service  *registry.Service
	content  *taskformat.Content
	handler  *httpapi.Server
	server   *http.Server

	stopService context.CancelFunc // the sources, their watchers, rescans
	stopStreams context.CancelFunc // SSE and WebSocket streams
	stopTests   func()
	failed      chan error // the HTTP server's failure
	wg          sync.WaitGroup
}

// feedReplay is how many change events the feed keeps for subscribers to
// replay, and feedLag how far beyond them a subscriber may lag before it
// is dropped.
const feedReplay, feedLag = 4096, 256

// contentBudget is the bytes of main.js and test files kept once read,
// for the API and the test runner.
const contentBudget = 64 << 20

// Run wires the parts, adds the sources, and starts the sources, the test
// runner and the HTTP server; it returns once the server listens. A
// failure leaves nothing running that Close would not stop.
func (m *Main) Run(ctx context.Context) error {
	m.failed = make(chan error, 1)
	m.feed = registry.NewFeed(feedReplay, feedLag)
	m.registry = registry.New(time.Now, m.feed)
	m.metrics = httpapi.NewMetrics(httpapi.MetricsSources{Registry: m.registry, Feed: m.feed})
	hooks := m.metrics.Hooks()
	hooks.Ready = func() {
		// The first load makes garbage several times the size of what it
		// keeps (every file read, parsed and compiled): hand it back now,
		// rather than hold twice the catalogue's memory until the runtime
		// scavenges it, minutes later.
		debug.FreeOSMemory()
		m.Log.Info("ready", "tasks", m.registry.Snapshot().TaskCount())
	}
	m.service = registry.NewService(m.registry, m.Log, hooks)
	m.addSources(taskformat.NewLoader())
	m.content = taskformat.NewContent(contentBudget)
	if err := m.newHandler(); err != nil {
		return err
	}
	ln := m.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", m.Config.Server.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", m.Config.Server.Addr, err)
		}
	}
	// Streams (SSE, WebSocket) watch this context, so that shutdown ends
	// them instead of waiting for them.
	streams, stopStreams := context.WithCancel(context.Background())
	m.stopStreams = stopStreams
	m.server = m.handler.HTTPServer(streams)
	m.server.RegisterOnShutdown(stopStreams)
	ln = m.handler.Listener(ln)

	svcCtx, stopService := context.WithCancel(ctx)
	m.stopService = stopService
	m.wg.Go(func() {
		if err := m.service.Run(svcCtx); err != nil {
			m.Log.Error("sources stopped", "error", err)
		}
	})
	m.wg.Go(func() {
		if allWatching(svcCtx, m.registry) {
			// The watchers' setup, after the load, leaves its own
			// garbage (every folder's listing): handed back as well.
			debug.FreeOSMemory()
			m.Log.Info("watching: every save shows from now on")
		}
	})
	if m.Config.Tests.Enabled {
		start := m.startTests
		if start == nil {
			start = m.runTests
		}
		stop, err := start(svcCtx)
		if err != nil {
			ln.Close() // Serve never runs, so nothing else closes it
			m.server = nil
			return err
		}
		m.stopTests = stop
	}
	m.wg.Go(func() {
		if err := m.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.failed <- err
		}
	})
	m.wg.Go(func() { m.rescanOnHangup(svcCtx) })
	m.Log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/graphql")
	return nil
}

// Failed receives the error that stopped the HTTP server, if it fails.
func (m *Main) Failed() <-chan error { return m.failed }

// Close shuts down gracefully: requests under way finish, streams are
// told to close, then the sources and the test runner stop. It returns
// once every goroutine has stopped.
func (m *Main) Close() error {
	served := m.server != nil
	if served {
		m.Log.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := m.server.Shutdown(shutdownCtx); err != nil {
			m.Log.Warn("shutdown did not finish cleanly", "error", err)
		}
	}
	if m.stopStreams != nil {
		m.stopStreams()
	}
	if m.handler != nil {
		m.handler.Wait() // WebSockets, which Shutdown does not track
	}
	if m.stopService != nil {
		m.stopService()
	}
	m.wg.Wait()
	if m.stopTests != nil {
		m.stopTests()
	}
	if served {
		m.Log.Info("stopped")
	}
	return nil
}

// shutdownTimeout is how long Close waits for the requests under way.
const shutdownTimeout = 10 * time.Second

// rescanOnHangup rescans every source on each SIGHUP until ctx ends.
func (m *Main) rescanOnHangup(ctx context.Context) {
	hup, stop := rescanSignals()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			gen, err := m.service.Rescan(ctx)
			m.Log.Info("rescan on SIGHUP", "generation", gen, "error", err)
		}
	}
}

// addSources makes the configured sources, in order, and adds them to the
// service, all reading tasks with loader. A source that cannot be made (a
// remote one whose cache folder cannot be written, say) is served as
// failed, with why, and the other sources as usual.
func (m *Main) addSources(loader *taskformat.Loader) {
	deps := m.Config.sourceDeps(loader, m.Log)
	cacheErr := sync.OnceValue(func() error { return checkCacheDir(m.Config.Registry.CacheDir) })
	for i, e := range m.Config.Registry.Sources {
		var src registry.Source
		var err error
		if k, _ := kindOf(e.Type); k.UsesCacheDir {
			err = cacheErr()
		}
		if err == nil {
			src, err = e.Config.Open(i, deps)
		}
		if err != nil {
			name, location := e.Config.Shown()
			src = source.Failed(e.Type, name, location, err)
			m.Log.Error("source not started; it shows as failed", "source", src.Name(), "error", err)
		}
		m.service.Add(src)
	}
}

// sourceDeps is what the sources of c are made with.
func (c *Config) sourceDeps(loader *taskformat.Loader, log *slog.Logger) source.Deps {
	w := c.Watch
	return source.Deps{Loader: loader, CacheDir: c.Registry.CacheDir, Getenv: os.Getenv, Log: log,
		Watch: watcher.Config{Mode: watcher.Mode(w.Mode), Debounce: w.Debounce, MaxWait: w.MaxWait,
			PollInterval: w.PollInterval, PollCPU: w.PollCPU, RescanInterval: w.RescanInterval}}
}

// checkCacheDir makes sure registry.cache_dir (or the user's cache
// folder, when it is empty) can be written, as remote sources need.
func checkCacheDir(dir string) error {
	dir = source.CacheDir(dir)
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(dir, ".probe-*"); err == nil {
			f.Close()
			err = os.Remove(f.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("registry.cache_dir %s cannot be written, and this source keeps what it fetches there: %w", dir, err)
	}
	return nil
}

// newHandler makes the HTTP side: the GraphQL schema over the registry and
// the server that serves it, with the configured limits.
func (m *Main) newHandler() error {
	sch, err := schema.New(schema.Deps{Content: m.content, Feed: m.feed, Reload: m.service.Rescan})
	if err != nil {
		return err
	}
	s := m.Config.Server
	limits := schema.DefaultLimits()
	limits.Timeout, limits.MaxCost, limits.MaxAnswerBytes = s.Timeout, s.MaxCost, s.MaxAnswerBytes
	m.handler = httpapi.New(httpapi.Config{
		Registry:     m.registry,
		Executor:     &schema.Executor{Schema: sch, Limits: limits},
		Log:          m.Log,
		Feed:         m.feed,
		Content:      m.content,
		Metrics:      m.metrics,
		Addr:         s.Addr,
		AllowedHosts: s.AllowedHosts,
		CORSOrigins:  s.CORSOrigins,
		Limits: httpapi.Limits{MaxConnections: s.MaxConnections, MaxStreams: s.MaxStreams,
			MaxSubscriptions: s.MaxSubscriptions, ReadTimeout: s.ReadTimeout, IdleTimeout: s.IdleTimeout},
		AnswerCacheBytes:    s.AnswerCache,
		MaxPersistedQueries: s.PersistedQueries, PersistedQueryBytes: s.PersistedQueryBytes,
	})
	return nil
}

// runTests runs every task's tests on every change until ctx ends; stop
// waits for the scheduler and stops the workers.
func (m *Main) runTests(ctx context.Context) (stop func(), err error) {
	cfg := m.Config.Tests
	pool, err := newPool(cfg, m.Log, m.metrics.WorkerRestarted)
	if err != nil {
		return nil, err
	}
	var store *runner.Store
	if store, err = runner.NewStore(filepath.Join(source.CacheDir(m.Config.Registry.CacheDir), "verdicts"), runner.Limits{Timeout: cfg.Timeout, Memory: cfg.MemoryBytes(), TaskBudget: cfg.TaskBudget}); err != nil {
		m.Log.Warn("verdicts are not kept across restarts", "error", err)
		store = nil
	}
	sched := runner.NewScheduler(m.registry, m.content, pool.Run, store, pool.Workers(), cfg.TaskBudget, m.Log, runner.Hooks{
		Case:  func(s registry.CaseStatus, d time.Duration) { m.metrics.TestCase(string(s), d) },
		Queue: m.metrics.TestQueue,
	})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(ctx) })
	m.Log.Info("tests run on every change", "workers", pool.Workers(), "timeout", cfg.Timeout, "memory", cfg.Memory, "task_budget", cfg.TaskBudget)
	return func() {
		cancel()
		wg.Wait()
		pool.Close()
	}, nil
}

// allWatching waits until every source that follows files follows all
// its folders; false when ctx ends first, or when nothing is watched (no
// source that follows files, or watch.mode off), since then no save shows.
func allWatching(ctx context.Context, reg *registry.Registry) bool {
	watched := false
	for _, st := range reg.Snapshot().Sources() {
		select {
		case <-st.Watching():
		case <-ctx.Done():
			return false
		}
		if w, ok := st.Watch(); ok && w.Mode != string(watcher.ModeOff) {
			watched = true
		}
	}
	return watched
}
