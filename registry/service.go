package registry

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Service ties sources to the registry: first loads, reloads on change,
// rescans on demand. It owns every goroutine it starts.
type Service struct {
	reg     *Registry
	log     *slog.Logger
	sources []*serviceSource
}

type serviceSource struct {
	src Source
	idx int
	mu  sync.Mutex // one load at a time per source: its state is not shared
}

// NewService makes a service over a registry.
func NewService(reg *Registry, log *slog.Logger) *Service {
	return &Service{reg: reg, log: log}
}

// Add registers a source, in configuration order.
func (s *Service) Add(src Source) {
	s.sources = append(s.sources, &serviceSource{src: src, idx: s.reg.AddSource(src)})
}

// Run loads every source, then keeps them current until ctx ends. It
// returns only when everything it started has stopped.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, ss := range s.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.scan(ctx, ss)
		}()
	}
	wg.Wait()
	<-ctx.Done()
	return nil
}

// Rescan reloads every source from scratch and returns the generation in
// force afterwards.
func (s *Service) Rescan(ctx context.Context) (int64, error) {
	for _, ss := range s.sources {
		if err := ctx.Err(); err != nil {
			return s.reg.Snapshot().Generation, err
		}
		s.scan(ctx, ss)
	}
	return s.reg.Snapshot().Generation, nil
}

// scan loads a whole source and applies it.
func (s *Service) scan(ctx context.Context, ss *serviceSource) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	start := time.Now()
	res, err := ss.src.Scan(ctx)
	if ctx.Err() != nil {
		return
	}
	snap, changed := s.reg.Apply(Update{Source: ss.idx, Full: true, Results: res, Err: err})
	s.logResult(ss, snap, changed, err, time.Since(start))
}

func (s *Service) logResult(ss *serviceSource, snap *Snapshot, changed bool, err error, took time.Duration) {
	if err != nil {
		s.log.Warn("source failed", "source", ss.src.Name(), "error", err)
	}
	if changed {
		s.log.Info("loaded", "source", ss.src.Name(), "generation", snap.Generation, "tasks", snap.TaskCount(),
			"versions", snap.VersionCount(), "errors", len(snap.Errors()), "took", took.Round(time.Microsecond))
	}
}
