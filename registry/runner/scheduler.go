package runner

import (
	"container/heap"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// Hooks let the caller count what the scheduler does (for metrics); any
// may be nil.
type Hooks struct {
	Case  func(status registry.CaseStatus, took time.Duration) // a case finished
	Queue func(n int)                                          // tasks waiting, after each change
}

// Scheduler runs the tests of every task version the registry serves whose
// verdict is not known for its files as they are, and hands the verdicts
// back to the registry. The tasks found by the newest look go first, so
// that a file just saved is not stuck behind the first load of thousands.
type Scheduler struct {
	reg     *registry.Registry
	content *taskformat.Content
	run     func(context.Context, Case) registry.CaseResult
	store   *Store // nil: verdicts live in memory only
	workers int
	log     *slog.Logger
	hooks   Hooks

	mu     sync.Mutex
	cond   *sync.Cond
	queue  jobs
	queued map[string]string // identity to the test digest queued or running
	batch  int64
	seq    int64
	closed bool
}

// NewScheduler runs cases with run, up to workers at once (the pool's
// size: Pool.Run there, or Run in-process where there is no hostile code).
// Verdicts found in store (which may be nil) are taken without running.
// From now on, the registry shows a task with tests as PENDING until its
// verdict arrives.
func NewScheduler(reg *registry.Registry, content *taskformat.Content, run func(context.Context, Case) registry.CaseResult,
	store *Store, workers int, log *slog.Logger, hooks Hooks) *Scheduler {
	s := &Scheduler{reg: reg, content: content, run: run, store: store, workers: max(workers, 1), log: log, hooks: hooks,
		queued: map[string]string{}}
	s.cond = sync.NewCond(&s.mu)
	reg.EnableVerdicts()
	return s
}

// Verdicts of files that no task has any more are pruned from the store
// once every source has loaded, then every pruneEvery, when older than
// pruneAfter.
const pruneEvery, pruneAfter = 24 * time.Hour, 7 * 24 * time.Hour

// Run makes verdicts until ctx ends, then waits for its goroutines.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(ctx)
		}()
	}
	s.look()
	var nextPrune time.Time // zero: as soon as every source has loaded
	s.prune(&wg, &nextPrune)
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-s.reg.Swapped():
			s.look()
			s.prune(&wg, &nextPrune)
		case <-tick.C:
			s.prune(&wg, &nextPrune)
		}
	}
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	wg.Wait()
}

// prune removes stale verdicts from the store when it is time and every
// source has loaded: a source still loading, or failing, holds tasks
// whose verdicts must stay. It runs beside the scheduler, on wg: at
// 100,000 verdicts it takes a second, which a save must not wait for.
func (s *Scheduler) prune(wg *sync.WaitGroup, next *time.Time) {
	now := time.Now()
	if s.store == nil || now.Before(*next) {
		return
	}
	snap := s.reg.Snapshot()
	for _, src := range snap.Sources() {
		if src.Status != registry.StatusOK {
			return
		}
	}
	*next = now.Add(pruneEvery)
	wg.Go(func() {
		n, err := s.store.Prune(snap, pruneAfter, now)
		if err != nil {
			s.log.Warn("stale verdicts not pruned", "error", err)
		} else if n > 0 {
			s.log.Info("pruned the verdicts of files no task has had for a week", "removed", n)
		}
	})
}

// look queues every served task version whose verdict is pending and not
// queued already for the same files.
func (s *Scheduler) look() {
	snap := s.reg.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch++
	added := 0
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			if snap.Verdict(t).Status != registry.VerdictPending {
				continue
			}
			id := t.ID + "@" + t.Version
			if s.queued[id] == t.TestDigest {
				continue
			}
			s.queued[id] = t.TestDigest
			s.seq++
			heap.Push(&s.queue, &job{task: t, batch: s.batch, seq: s.seq})
			added++
		}
	}
	if added > 0 {
		s.cond.Broadcast()
	}
	if s.hooks.Queue != nil {
		s.hooks.Queue(s.queue.Len())
	}
}

// next waits for a job; nil once the scheduler is closed.
func (s *Scheduler) next() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.queue.Len() == 0 && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		return nil
	}
	j := heap.Pop(&s.queue).(*job)
	if s.hooks.Queue != nil {
		s.hooks.Queue(s.queue.Len())
	}
	return j
}

func (s *Scheduler) done(t *registry.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := t.ID + "@" + t.Version
	if s.queued[id] == t.TestDigest {
		delete(s.queued, id)
	}
}

func (s *Scheduler) work(ctx context.Context) {
	for j := s.next(); j != nil; j = s.next() {
		v, ok := s.verdict(ctx, j.task)
		s.done(j.task)
		if ok {
			s.reg.SetVerdict(j.task, v)
		}
	}
}

// verdict runs every case of a task. It gives up (false) when the files
// changed on disk since the snapshot was built: the reload that follows
// queues the task again.
func (s *Scheduler) verdict(ctx context.Context, t *registry.Task) (*registry.Verdict, bool) {
	if cur, ok := s.reg.Snapshot().Task(t.ID, t.Version); !ok || cur.TestDigest != t.TestDigest {
		return nil, false // superseded while it waited
	}
	if s.store != nil {
		if v, ok := s.store.Load(t.TestDigest); ok {
			return v, true
		}
	}
	cases, err := Cases(s.content, t)
	if err != nil {
		s.log.Info("tests not run: the task changed on disk", "task", t.ID, "version", t.Version, "error", err)
		return nil, false
	}
	results := make([]registry.CaseResult, 0, len(cases))
	for _, c := range cases {
		r := s.run(ctx, c)
		if ctx.Err() != nil {
			return nil, false
		}
		if s.hooks.Case != nil {
			s.hooks.Case(r.Status, r.Duration)
		}
		results = append(results, r)
	}
	v := registry.NewVerdict(t.TestDigest, results)
	if s.store != nil {
		if err := s.store.Save(v); err != nil {
			s.log.Warn("verdict not kept for the next start", "task", t.ID, "version", t.Version, "error", err)
		}
	}
	return v, true
}

// Cases reads a task's test cases, each ready to run.
func Cases(content *taskformat.Content, t *registry.Task) ([]Case, error) {
	script, err := content.Script(t)
	if err != nil {
		return nil, err
	}
	tcs, err := content.Tests(t)
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, tc := range tcs {
		c := NewCase(tc)
		c.Script = script
		c.InputSchema, c.OutputSchema = json.RawMessage(t.InputSchema), json.RawMessage(t.OutputSchema)
		out = append(out, c)
	}
	return out, nil
}

// job is one task version to test.
type job struct {
	task  *registry.Task
	batch int64 // the look that found it: newer first
	seq   int64 // then in the order found
}

type jobs []*job

func (q jobs) Len() int { return len(q) }
func (q jobs) Less(i, j int) bool {
	if q[i].batch != q[j].batch {
		return q[i].batch > q[j].batch
	}
	return q[i].seq < q[j].seq
}
func (q jobs) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *jobs) Push(x any)   { *q = append(*q, x.(*job)) }
func (q *jobs) Pop() any {
	old := *q
	j := old[len(old)-1]
	*q = old[:len(old)-1]
	return j
}
