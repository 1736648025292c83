package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Hooks let the caller observe reloads (for metrics) without the registry
// knowing how they are kept. Any of them may be nil.
type Hooks struct {
	// Reload is called after every update of a source is applied: result
	// is "changed", "unchanged" or "failed"; fetched says the source
	// fetches what it serves (it does not follow files on this machine).
	Reload func(source string, fetched bool, result string, took time.Duration)
	// SaveToSwap is the time from the first change seen to the swap of the
	// snapshot that shows it.
	SaveToSwap func(time.Duration)
	// Ready is called once, when every source has finished its first
	// load and the registry first answers ready.
	Ready func()
}

// Service runs sources and applies their updates to the registry. It knows
// no kind of source: each owns its loop. It owns every goroutine it starts.
type Service struct {
	reg     *Registry
	log     *slog.Logger
	hooks   Hooks
	sources []*serviceSource

	ready    sync.Once
	requests chan *rescanCall // to the goroutine that runs rescans
	mu       sync.Mutex
	pending  *rescanCall // the rescan asked for and not started yet; shared by every asker
}

type serviceSource struct {
	src    Source
	idx    int
	rescan chan Rescan
	done   chan struct{} // closed when the source's Run has returned

	// The outage in course, so that it is logged when it starts and when
	// it ends rather than at every retry. Only the source's own goroutine
	// (the one that calls apply) touches them.
	failingSince time.Time
	failures     int
}

// rescanCall is one rescan of every source, shared by every Rescan call
// that arrives before it starts. One that arrives while a rescan runs waits
// for the next, which sees what changed since the running one began.
type rescanCall struct {
	done chan struct{}
	gen  int64
	err  error
}

// NewService makes a service over a registry.
func NewService(reg *Registry, log *slog.Logger, hooks Hooks) *Service {
	return &Service{reg: reg, log: log, hooks: hooks, requests: make(chan *rescanCall, 1)}
}

// Add registers a source, in configuration order. Call it before Run.
func (s *Service) Add(src Source) {
	s.sources = append(s.sources, &serviceSource{src: src, idx: s.reg.AddSource(src),
		rescan: make(chan Rescan), done: make(chan struct{})})
}

// Run runs every source until ctx ends. It returns only when everything it
// started has stopped, with the errors of the sources that stopped early.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.sources))
	for i, ss := range s.sources {
		wg.Go(func() {
			defer close(ss.done)
			errs[i] = s.runSource(ctx, ss)
		})
	}
	wg.Go(func() { s.rescans(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

// runSource runs one source. A source that stops while the service runs
// can no longer keep its tasks current: that is shown on the source, and
// what it served stays.
func (s *Service) runSource(ctx context.Context, ss *serviceSource) error {
	err := ss.src.Run(ctx, func(u Update) { s.apply(ss, u) }, ss.rescan)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	err = fmt.Errorf("source %s stopped: %w", ss.src.Name(), err)
	s.log.Error("source stopped; its tasks are no longer kept current", "source", ss.src.Name(), "error", err)
	s.apply(ss, Update{Err: err})
	return err
}

// Rescan asks every source for a complete load and returns the generation
// in force once all have applied theirs. The rescan runs on the service's
// own context: a caller that stops waiting (ctx ends) leaves it to finish,
// and callers that ask before it starts share it.
func (s *Service) Rescan(ctx context.Context) (int64, error) {
	s.mu.Lock()
	c := s.pending
	if c == nil {
		c = &rescanCall{done: make(chan struct{})}
		s.pending = c
		s.requests <- c // never blocks: only one call is pending at a time
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.gen, c.err
	case <-ctx.Done():
		return s.reg.Snapshot().Generation, ctx.Err()
	}
}

// rescans runs the rescans asked for, one at a time, until ctx ends.
func (s *Service) rescans(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			if c := s.pending; c != nil {
				s.pending = nil
				c.gen, c.err = s.reg.Snapshot().Generation, ctx.Err()
				close(c.done)
			}
			s.mu.Unlock()
			return
		case c := <-s.requests:
			s.mu.Lock()
			s.pending = nil // an ask from now on is for the next rescan
			s.mu.Unlock()
			err := s.rescanAll(ctx)
			c.gen, c.err = s.reg.Snapshot().Generation, err
			close(c.done)
		}
	}
}

// rescanAll asks each source in turn and waits for its answer. Sources
// rescan one after another so that a reload costs one source's load at a
// time, as the first load does.
func (s *Service) rescanAll(ctx context.Context) error {
	for _, ss := range s.sources {
		r := NewRescan()
		select {
		case ss.rescan <- r:
		case <-ss.done:
			continue // a stopped source serves what it had; its error is shown
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-r.Answered():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// apply folds one update of a source into the registry and reports it.
func (s *Service) apply(ss *serviceSource, u Update) {
	u.Source = ss.idx
	snap, changed, events := s.reg.apply(u)
	s.observe(ss, snap, changed, events, u)
}

func (s *Service) observe(ss *serviceSource, snap *Snapshot, changed bool, events []Event, u Update) {
	// Every problem is logged once, when it appears, and once when it goes.
	for _, e := range events {
		switch e.Kind {
		case ErrorRaised, ErrorCleared:
			if e.Error.Root == "" && e.Error.Source == ss.src.Name() && e.Error.Path == ss.src.Location() {
				continue // the source's own failure: logFailure says when it starts and ends
			}
			if e.Kind == ErrorRaised {
				s.log.Warn("load error", e.Error.logAttrs()...)
			} else {
				s.log.Info("load error cleared", "source", e.Error.Source, "path", e.Error.Path)
			}
		case ConflictRaised:
			s.log.Warn("conflict", "source", e.Conflict.Source, "path", e.Conflict.Path, "error", e.Conflict.Message())
		}
	}
	var took time.Duration
	if !u.Started.IsZero() {
		took = time.Since(u.Started)
	}
	result := "unchanged"
	switch {
	case u.Err != nil:
		result = "failed"
		s.logFailure(ss, u.Err)
	case changed:
		result = "changed"
		s.log.Info("loaded", "source", ss.src.Name(), "generation", snap.Generation, "tasks", snap.TaskCount(),
			"versions", snap.VersionCount(), "errors", snap.ErrorCount(), "took", took.Round(time.Microsecond))
	}
	if u.Err == nil && !ss.failingSince.IsZero() {
		s.log.Info("source recovered", "source", ss.src.Name(), "after", time.Since(ss.failingSince).Round(time.Millisecond),
			"failed_attempts", ss.failures)
		ss.failingSince, ss.failures = time.Time{}, 0
	}
	if s.hooks.Reload != nil {
		_, live := ss.src.(Live)
		s.hooks.Reload(ss.src.Name(), !live, result, took)
	}
	if snap.Ready() && s.hooks.Ready != nil {
		s.ready.Do(s.hooks.Ready)
	}
	if changed && !u.Seen.IsZero() && s.hooks.SaveToSwap != nil {
		s.hooks.SaveToSwap(time.Since(u.Seen))
	}
}

// logFailure logs a failed update: as a warning when an outage starts,
// and at debug level while it lasts, since a source retries on its own.
func (s *Service) logFailure(ss *serviceSource, err error) {
	ss.failures++
	if ss.failingSince.IsZero() {
		ss.failingSince = time.Now()
		s.log.Warn("source failed", "source", ss.src.Name(), "location", ss.src.Location(), "error", err)
		return
	}
	s.log.Debug("source still failing", "source", ss.src.Name(), "error", err, "since", ss.failingSince, "attempts", ss.failures)
}

// LoadOnce loads each source once into reg, in order: the first update of
// its Run, after which the source is stopped. It is how `validate` reads
// sources without keeping them current.
func LoadOnce(ctx context.Context, reg *Registry, sources ...Source) error {
	var errs []error
	for _, src := range sources {
		idx := reg.AddSource(src)
		u, ok, err := FirstLoad(ctx, src)
		if ok {
			u.Source = idx
			reg.Apply(u)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name(), err))
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// FirstLoad runs src until its first update and returns it, once the
// source has stopped; ok is false when it stopped, or ctx ended, before
// it had one. err is what the source stopped with.
func FirstLoad(ctx context.Context, src Source) (u Update, ok bool, err error) {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	err = src.Run(runCtx, func(first Update) {
		if !ok {
			u, ok = first, true
			stop()
		}
	}, nil)
	return u, ok, err
}
