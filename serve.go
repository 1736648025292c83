package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/schema"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// runServe serves until ctx ends, then shuts down gracefully: in-flight
// requests finish, streams are told to close, and every goroutine stops.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file`")
	addr := fs.String("addr", "", "listen on `HOST:PORT` (default 127.0.0.1:8080)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ratchet-registry serve [--config FILE] [--addr HOST:PORT] [--log-format text|json] [PATH ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var log *slog.Logger
	switch *logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(stderr, nil))
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, nil))
	default:
		fmt.Fprintf(stderr, "--log-format is %q: want text or json\n", *logFormat)
		return 2
	}
	cfg := defaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = loadConfig(*configPath); err != nil {
			log.Error("bad configuration", "error", err)
			return 1
		}
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	for _, p := range fs.Args() {
		cfg.Registry.Sources = append(cfg.Registry.Sources, SourceConfig{Type: "filesystem", Path: p})
	}
	if len(cfg.Registry.Sources) == 0 {
		fmt.Fprintln(stderr, "nothing to serve: give a PATH or a configuration with registry.sources")
		fs.Usage()
		return 2
	}
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("serve failed", "error", err)
		return 1
	}
	return 0
}

// serve wires the parts together and runs them until ctx ends.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	feed := registry.NewFeed(4096, 256)
	reg := registry.New(time.Now, feed)
	var svc *registry.Service
	metrics := httpapi.NewMetrics(httpapi.MetricsSources{Registry: reg, Feed: feed,
		Watchers: func() []registry.WatchStatus { return svc.Watchers() }})
	svc = registry.NewService(reg, log, watcher.Config{
		Mode: cfg.Watch.Mode, Debounce: cfg.Watch.Debounce, MaxWait: cfg.Watch.MaxWait,
		PollInterval: cfg.Watch.PollInterval, RescanInterval: cfg.Watch.RescanInterval,
	}, metrics.Hooks())
	for i, sc := range cfg.Registry.Sources {
		src, err := newSource(sc, i, cfg.Registry.CacheDir, log)
		if err != nil {
			return err
		}
		svc.Add(src)
	}
	content := registry.NewContent(64 << 20)
	sch, err := schema.New(schema.Deps{Content: content, Feed: feed, Reload: svc.Rescan})
	if err != nil {
		return err
	}
	handler := httpapi.New(httpapi.Config{
		Registry: reg,
		Executor: &schema.Executor{Schema: sch, Limits: schema.DefaultLimits},
		Log:      log,
		Timeout:  cfg.Server.Timeout,
		Feed:     feed,
		Content:  content,
		Metrics:  metrics,
	})

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
	}
	// Streams (SSE, WebSocket) watch this context, so that shutdown ends
	// them instead of waiting for them.
	streams, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return streams }}
	srv.RegisterOnShutdown(stopStreams)

	svcCtx, stopSvc := context.WithCancel(ctx)
	defer stopSvc()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = svc.Run(svcCtx)
	}()
	serveErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
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
		case <-hup:
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

// newSource makes the source a configuration entry describes.
func newSource(sc SourceConfig, order int, cacheDir string, log *slog.Logger) (registry.Source, error) {
	name := sc.Name
	switch sc.Type {
	case "filesystem":
		if name == "" {
			name = sc.Path
		}
		return registry.NewFSSource(name, sc.Path, order)
	case "http":
		token := ""
		if sc.TokenEnv != "" {
			token = os.Getenv(sc.TokenEnv)
		}
		return registry.NewHTTPSource(registry.HTTPConfig{Name: name, URL: sc.URL, Interval: sc.Interval, Timeout: sc.Timeout,
			Headers: sc.Headers, Token: token, CacheDir: cacheDir}, order, log)
	default:
		return nil, fmt.Errorf("source type %q is not supported yet", sc.Type)
	}
}
