package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	"github.com/ratchet-tasks/ratchet-registry/registry/fssource"
	"github.com/ratchet-tasks/ratchet-registry/registry/gitsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/httpsource"
	"github.com/ratchet-tasks/ratchet-registry/registry/ocisource"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// runServe serves until ctx ends, then shuts down gracefully: in-flight
// requests finish, streams are told to close, and every goroutine stops.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", "[--config FILE] [--addr HOST:PORT] [--watch MODE] [--poll-interval DURATION] [PATH ...]",
		"Serves the catalogue of every PATH (a task folder, a task .zip or a folder of\nmany) and of the configuration's sources, over GraphQL at /graphql.\n\n"+
			"defaults (configuration keys):\n"+defaultsText())
	configPath := fs.String("config", "", "YAML configuration `file`")
	addr := fs.String("addr", "", "listen on `HOST:PORT` (server.addr)")
	watchMode := fs.String("watch", "", "how to notice changes, `MODE` auto, fsnotify, poll or off (watch.mode)")
	pollInterval := fs.Duration("poll-interval", 0, "time between two polls of --watch poll, a `DURATION` such as 500ms or 2s (watch.poll_interval)")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	log := newLogger(fs, stderr)
	cfg := defaultConfig()
	if *configPath != "" {
		if cfg, err = loadConfig(*configPath); err != nil {
			logConfigErrors(log, err)
			return 1
		}
	}
	// A flag given overrides the file, whatever its value: --poll-interval 0
	// is refused, not ignored.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "addr":
			cfg.Server.Addr = *addr
		case "watch":
			cfg.Watch.Mode = *watchMode
		case "poll-interval":
			cfg.Watch.PollInterval = *pollInterval
		}
	})
	if err := cfg.checkFlags(fs, map[string]string{"addr": "server.addr", "watch": "watch.mode", "poll-interval": "watch.poll_interval"}); err != nil {
		logConfigErrors(log, err)
		return 2
	}
	for _, p := range paths {
		// A PATH typed on the command line that is not there is a typo, not
		// a folder to wait for (a configured source's folder is waited for).
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return usageError(fs, fmt.Errorf("%s: no such folder or file; give a task folder, a task .zip or a folder of either", p), stdout, stderr)
		}
		cfg.Registry.Sources = append(cfg.Registry.Sources, SourceConfig{Type: "filesystem", Path: p})
	}
	if len(cfg.Registry.Sources) == 0 {
		return usageError(fs, errors.New("nothing to serve: give a PATH or a configuration with registry.sources"), stdout, stderr)
	}
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("serve failed", "error", err)
		return 1
	}
	return 0
}

// logConfigErrors logs each problem of a configuration as its own line,
// with its place and key as attributes.
func logConfigErrors(log *slog.Logger, err error) {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ce *configError
		if errors.As(e, &ce) {
			attrs := []any{"at", ce.Where}
			if ce.Key != "" {
				attrs = append(attrs, "key", ce.Key)
			}
			log.Error("bad configuration: "+ce.Error(), attrs...)
			continue
		}
		log.Error("bad configuration", "error", e)
	}
}

// serve wires the parts together and runs them until ctx ends.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	feed := registry.NewFeed(4096, 256)
	reg := registry.New(time.Now, feed)
	metrics := httpapi.NewMetrics(httpapi.MetricsSources{Registry: reg, Feed: feed})
	hooks := metrics.Hooks()
	hooks.Ready = func() {
		// The first load makes garbage several times the size of what it
		// keeps (every file read, parsed and compiled): hand it back now,
		// rather than hold twice the catalogue's memory until the runtime
		// scavenges it, minutes later.
		debug.FreeOSMemory()
		log.Info("ready", "tasks", reg.Snapshot().TaskCount())
	}
	svc := registry.NewService(reg, log, hooks)
	if err := addSources(svc, cfg, taskformat.NewLoader(), log); err != nil {
		return err
	}
	content := taskformat.NewContent(64 << 20)
	handler, err := newHandler(cfg, reg, feed, content, metrics, svc, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	var tests func(context.Context) (func(), error)
	if cfg.Tests.Enabled {
		tests = func(ctx context.Context) (func(), error) {
			return startTests(ctx, cfg.Tests, cfg.Registry.CacheDir, reg, content, log, metrics)
		}
	}
	return runServer(ctx, log, svc, tests, handler, ln, func(ctx context.Context) bool { return allWatching(ctx, reg) })
}

// addSources makes the configured sources, in order, and adds them to the
// service, all reading tasks with loader. A remote source that cannot be
// made (its cache folder cannot be written, say) is served as failed,
// with why, and the other sources as usual.
func addSources(svc *registry.Service, cfg Config, loader *taskformat.Loader, log *slog.Logger) error {
	var cacheErr error
	for _, sc := range cfg.Registry.Sources {
		if sc.Type != string(registry.SourceFilesystem) {
			cacheErr = checkCacheDir(cfg.Registry.CacheDir)
			break
		}
	}
	for i, sc := range cfg.Registry.Sources {
		var src registry.Source
		var err error
		if sc.Type == string(registry.SourceFilesystem) {
			src, err = newSource(sc, i, cfg, loader, log)
		} else if err = cacheErr; err == nil {
			src, err = newSource(sc, i, cfg, loader, log)
		}
		if err != nil && sc.Type == string(registry.SourceFilesystem) {
			return err
		}
		if err != nil {
			f := newFailedSource(sc, err)
			log.Error("source not started; it shows as failed", "source", f.Name(), "error", err)
			src = f
		}
		svc.Add(src)
	}
	return nil
}

// checkCacheDir makes sure registry.cache_dir (or the user's cache
// folder, when it is empty) can be written, as remote sources need.
func checkCacheDir(dir string) error {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "ratchet-registry")
	}
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

// failedSource stands for a configured source that could not be made. Its
// first load is done at once, failed with why, so that /readyz does not
// wait for it and the API shows it in error; a rescan says so again.
type failedSource struct {
	name, location string
	typ            registry.SourceType
	err            error
}

var _ registry.Source = (*failedSource)(nil)

func newFailedSource(sc SourceConfig, err error) *failedSource {
	location := registry.RedactURL(cmp.Or(sc.URL, sc.Ref))
	return &failedSource{name: cmp.Or(sc.Name, location), location: location, typ: registry.SourceType(sc.Type), err: err}
}

func (f *failedSource) Name() string              { return f.name }
func (f *failedSource) Type() registry.SourceType { return f.typ }
func (f *failedSource) Location() string          { return f.location }

func (f *failedSource) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	apply(registry.Update{Err: f.err})
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-rescan:
			apply(registry.Update{Err: f.err})
			r.Done()
		}
	}
}

// newHandler makes the HTTP side: the GraphQL schema over the registry and
// the server that serves it, with the configured limits.
func newHandler(cfg Config, reg *registry.Registry, feed *registry.Feed, content *taskformat.Content, metrics *httpapi.Metrics,
	svc *registry.Service, log *slog.Logger) (*httpapi.Server, error) {
	sch, err := schema.New(schema.Deps{Content: content, Feed: feed, Reload: svc.Rescan})
	if err != nil {
		return nil, err
	}
	limits := schema.DefaultLimits
	limits.Timeout, limits.MaxCost, limits.MaxAnswerBytes = cfg.Server.Timeout, cfg.Server.MaxCost, cfg.Server.MaxAnswerBytes
	return httpapi.New(httpapi.Config{
		Registry:     reg,
		Executor:     &schema.Executor{Schema: sch, Limits: limits},
		Log:          log,
		Feed:         feed,
		Content:      content,
		Metrics:      metrics,
		Addr:         cfg.Server.Addr,
		AllowedHosts: cfg.Server.AllowedHosts,
		CORSOrigins:  cfg.Server.CORSOrigins,
		Limits: httpapi.Limits{MaxConnections: cfg.Server.MaxConnections, MaxStreams: cfg.Server.MaxStreams,
			MaxSubscriptions: cfg.Server.MaxSubscriptions, ReadTimeout: cfg.Server.ReadTimeout, IdleTimeout: cfg.Server.IdleTimeout},
		AnswerCacheBytes:    cfg.Server.AnswerCache,
		MaxPersistedQueries: cfg.Server.PersistedQueries, PersistedQueryBytes: cfg.Server.PersistedQueryBytes,
	}), nil
}

// runServer runs the sources, the test runner (when tests is set) and the HTTP
// server until ctx ends or the server fails, rescanning on SIGHUP; then it
// shuts down gracefully and returns once every goroutine has stopped.
func runServer(ctx context.Context, log *slog.Logger, svc *registry.Service, tests func(context.Context) (func(), error),
	handler *httpapi.Server, ln net.Listener, watching func(context.Context) bool) error {
	// Streams (SSE, WebSocket) watch this context, so that shutdown ends
	// them instead of waiting for them.
	streams, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	srv := handler.HTTPServer(streams)
	srv.RegisterOnShutdown(stopStreams)
	ln = handler.Listener(ln)

	svcCtx, stopSvc := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopSvc()
		wg.Wait()
	}()
	wg.Go(func() {
		if err := svc.Run(svcCtx); err != nil {
			log.Error("sources stopped", "error", err)
		}
	})
	wg.Go(func() {
		if watching(svcCtx) {
			// The watchers' setup, after the load, leaves its own
			// garbage (every folder's listing): handed back as well.
			debug.FreeOSMemory()
			log.Info("watching: every save shows from now on")
		}
	})
	if tests != nil {
		stopTests, err := tests(svcCtx)
		if err != nil {
			ln.Close() // Serve never ran, so nothing else closes it
			return err
		}
		defer stopTests()
	}
	serveErr := make(chan error, 1)
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	})
	rescan, stopRescan := rescanSignals()
	defer stopRescan()
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/graphql")

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-serveErr:
			runErr = err
			break loop
		case <-rescan:
			gen, err := svc.Rescan(svcCtx)
			log.Info("rescan on SIGHUP", "generation", gen, "error", err)
		}
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown did not finish cleanly", "error", err)
	}
	stopStreams()
	handler.Wait() // WebSockets, which Shutdown does not track
	stopSvc()
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// newSource makes the source a configuration entry describes. A new kind
// of source is one more case here. Every source reads tasks with loader.
func newSource(sc SourceConfig, order int, cfg Config, loader *taskformat.Loader, log *slog.Logger) (registry.Source, error) {
	switch registry.SourceType(sc.Type) {
	case registry.SourceFilesystem:
		return fssource.New(fssource.Config{Name: sc.Name, Path: sc.Path, Watch: watchConfig(cfg.Watch),
			FollowSymlinksOutside: sc.FollowSymlinksOutside, Loader: loader}, order, log)
	case registry.SourceHTTP:
		s, err := httpsource.New(httpsource.Config{Name: sc.Name, URL: sc.URL, Interval: sc.Interval, Timeout: sc.Timeout,
			Headers: sc.Headers, Token: tokenFrom(sc.TokenEnv), CacheDir: cfg.Registry.CacheDir, AllowHosts: sc.AllowHosts, Loader: loader}, order, log)
		if err != nil {
			return nil, err
		}
		if sc.MaxLoadBytes > 0 {
			s.MaxLoadBytes = sc.MaxLoadBytes
		}
		return s, nil
	case registry.SourceOCI:
		s, err := ocisource.New(ocisource.Config{Name: sc.Name, Ref: sc.Ref, Interval: sc.Interval, CacheDir: cfg.Registry.CacheDir,
			Remote: ocisource.Remote{PlainHTTP: sc.PlainHTTP, Username: sc.Username, Password: tokenFrom(sc.PasswordEnv),
				DockerConfig: dockerConfigPath(), Timeout: sc.Timeout, UserAgent: "ratchet-registry"}, Loader: loader}, order, log)
		if err != nil {
			return nil, err
		}
		if sc.MaxLoadBytes > 0 {
			s.MaxLoadBytes = sc.MaxLoadBytes
		}
		return s, nil
	case registry.SourceGit:
		return gitsource.New(gitsource.Config{Name: sc.Name, URL: sc.URL, Ref: sc.Ref, Path: sc.Path, Interval: sc.Interval, Timeout: sc.Timeout,
			Token: tokenFrom(sc.TokenEnv), SSHKey: sc.SSHKey, SSHKnownHosts: sc.SSHKnownHosts, CacheDir: cfg.Registry.CacheDir,
			MaxLoadBytes: sc.MaxLoadBytes, MaxTaskBytes: sc.MaxTaskBytes, Loader: loader}, order, log)
	default:
		return nil, fmt.Errorf("source type %q is not supported yet", sc.Type)
	}
}

func watchConfig(w WatchConfig) watcher.Config {
	return watcher.Config{Mode: watcher.Mode(w.Mode), Debounce: w.Debounce, MaxWait: w.MaxWait,
		PollInterval: w.PollInterval, PollCPU: w.PollCPU, RescanInterval: w.RescanInterval}
}

// tokenFrom reads a credential from the environment variable named in the
// configuration, so that it is never written in the file.
func tokenFrom(env string) string {
	if env == "" {
		return ""
	}
	return os.Getenv(env)
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
