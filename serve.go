package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
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
		cfg.Registry.Sources = append(cfg.Registry.Sources, pathEntry(p))
	}
	if len(cfg.Registry.Sources) == 0 {
		return usageError(fs, errors.New("nothing to serve: give a PATH or a configuration with registry.sources"), stdout, stderr)
	}
	m := &Main{Config: cfg, Log: log}
	err = m.Run(ctx)
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-m.Failed():
		}
	}
	m.Close()
	if err != nil {
		log.Error("serve failed", "error", err)
		return 1
	}
	return 0
}

// logConfigErrors logs each problem of a configuration as its own line,
// with its place and key as attributes.
func logConfigErrors(log *slog.Logger, err error) {
	for _, e := range unwrapAll(err) {
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
