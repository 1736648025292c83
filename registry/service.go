package registry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// Hooks let the caller observe reloads (for metrics) without the registry
// knowing how they are kept. Any of them may be nil.
type Hooks struct {
	// Reload is called after every load of a source: typ is the source's
	// type, result "changed", "unchanged" or "failed".
	Reload func(source, typ, result string, took time.Duration)
	// SaveToSwap is the time from the first change seen on disk to the swap
	// of the snapshot that shows it.
	SaveToSwap func(time.Duration)
}

// Service ties sources to the registry: first loads, reloads on change,
// rescans on demand. It owns every goroutine it starts.
type Service struct {
	reg     *Registry
	log     *slog.Logger
	watch   watcher.Config
	hooks   Hooks
	sources []*serviceSource
}

type serviceSource struct {
	src     Source
	idx     int
	mu      sync.Mutex // one load at a time per source: its state is not shared
	watcher *watcher.Watcher
}

// NewService makes a service over a registry. watch says how filesystem
// sources are watched.
func NewService(reg *Registry, log *slog.Logger, watch watcher.Config, hooks Hooks) *Service {
	return &Service{reg: reg, log: log, watch: watch, hooks: hooks}
}

// Add registers a source, in configuration order. Call it before Run.
func (s *Service) Add(src Source) {
	ss := &serviceSource{src: src, idx: s.reg.AddSource(src)}
	if fs, ok := src.(*FSSource); ok {
		cfg := s.watch
		cfg.Group = fs.Group
		ss.watcher = watcher.New(fs.Dir(), cfg, s.log)
	}
	s.sources = append(s.sources, ss)
}

// WatchStatus is one watched source, for metrics.
type WatchStatus struct {
	Source  string
	Mode    string
	Watches int
}

// Watchers reports how each filesystem source is watched.
func (s *Service) Watchers() []WatchStatus {
	var out []WatchStatus
	for _, ss := range s.sources {
		if ss.watcher != nil {
			out = append(out, WatchStatus{Source: ss.src.Name(), Mode: ss.watcher.Mode(), Watches: ss.watcher.Watches()})
		}
	}
	return out
}

// Run loads every source, then keeps them current until ctx ends. It
// returns only when everything it started has stopped.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, ss := range s.sources {
		batches := make(chan watcher.Batch)
		if ss.watcher != nil {
			// Watch before the first scan, so that nothing saved during it
			// is missed; the batches wait until the scan is done.
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = ss.watcher.Run(ctx, batches)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ss.watcher != nil {
				select {
				case <-ss.watcher.Ready():
				case <-ctx.Done():
					return
				}
			}
			s.scan(ctx, ss, time.Time{})
			switch src := ss.src.(type) {
			case *FSSource:
				s.follow(ctx, ss, src, batches)
			case polled:
				s.poll(ctx, ss, src)
			}
		}()
	}
	wg.Wait()
	return nil
}

// Rescan reloads every source from scratch and returns the generation in
// force afterwards.
func (s *Service) Rescan(ctx context.Context) (int64, error) {
	for _, ss := range s.sources {
		if err := ctx.Err(); err != nil {
			return s.reg.Snapshot().Generation, err
		}
		s.scan(ctx, ss, time.Time{})
	}
	return s.reg.Snapshot().Generation, nil
}

// scan loads a whole source and applies it.
func (s *Service) scan(ctx context.Context, ss *serviceSource, first time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	start := time.Now()
	res, err := ss.src.Scan(ctx)
	if ctx.Err() != nil {
		return
	}
	snap, changed, events := s.reg.apply(Update{Source: ss.idx, Full: true, Results: res, Err: err})
	s.observe(ss, snap, changed, events, err, start, first)
}

func (s *Service) observe(ss *serviceSource, snap *Snapshot, changed bool, events []Event, err error, start, first time.Time) {
	// Every problem is logged once, when it appears, and once when it goes.
	for _, e := range events {
		switch e.Kind {
		case ErrorRaised:
			s.log.Warn("load error", "source", e.Error.Source, "path", e.Error.Path, "line", e.Error.Line, "column", e.Error.Column,
				"kind", e.Error.Kind, "error", e.Error.Message())
		case ErrorCleared:
			s.log.Info("load error cleared", "source", e.Error.Source, "path", e.Error.Path)
		}
	}
	took := time.Since(start)
	result := "unchanged"
	switch {
	case err != nil:
		result = "failed"
		s.log.Warn("source failed", "source", ss.src.Name(), "error", err)
	case changed:
		result = "changed"
		s.log.Info("loaded", "source", ss.src.Name(), "generation", snap.Generation, "tasks", snap.TaskCount(),
			"versions", snap.VersionCount(), "errors", snap.ErrorCount(), "took", took.Round(time.Microsecond))
	}
	if s.hooks.Reload != nil {
		s.hooks.Reload(ss.src.Name(), ss.src.Type(), result, took)
	}
	if changed && !first.IsZero() && s.hooks.SaveToSwap != nil {
		s.hooks.SaveToSwap(time.Since(first))
	}
}
