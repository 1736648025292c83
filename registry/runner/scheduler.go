package runner

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
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
	Queue func(n int)                                          // task versions waiting for a verdict, queued or running, after each change
}

// Scheduler runs the tests of every task version the registry serves whose
// verdict is not known for its files as they are, and hands the verdicts
// back to the registry.
//
// It hands out cases, not tasks: a worker that finishes a case takes the
// next case of the run that goes first, so that a task saved just now
// waits for at most the cases already running, never for all the cases of
// a large task. Runs found by a newer look go first (a file just saved is
// not stuck behind the first load of thousands); a run that replaces one
// of the same task version still under way keeps that one's place, so that
// a task saved again and again cannot push the others back. A run whose
// files are no longer served is canceled at once, and each run has a
// budget of time: the cases left when it is spent are not run.
type Scheduler struct {
	reg     *registry.Registry
	content *taskformat.Content
	run     func(context.Context, Case) registry.CaseResult
	store   *Store // nil: verdicts live in memory only
	workers int
	budget  time.Duration // of one run, its cases' times summed; 0: none
	log     *slog.Logger
	hooks   Hooks

	mu     sync.Mutex
	cond   *sync.Cond
	queue  runQueue            // runs with something for a worker to do
	runs   map[string]*taskRun // by identity: the run of the files served
	batch  int64
	seq    int64
	closed bool
}

// NewScheduler runs cases with run, up to workers at once (the pool's
// size: Pool.Run there, or Run in-process where there is no hostile code),
// the cases of one task for at most budget a run (0: no budget).
// Verdicts found in store (which may be nil) are taken without running.
// From now on, the registry shows a task with tests as PENDING until its
// verdict arrives.
func NewScheduler(reg *registry.Registry, content *taskformat.Content, run func(context.Context, Case) registry.CaseResult,
	store *Store, workers int, budget time.Duration, log *slog.Logger, hooks Hooks) *Scheduler {
	s := &Scheduler{reg: reg, content: content, run: run, store: store, workers: max(workers, 1), budget: budget, log: log,
		hooks: hooks, runs: map[string]*taskRun{}}
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
	s.look(ctx)
	var nextPrune time.Time // zero: as soon as every source has loaded
	s.prune(&wg, &nextPrune)
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-s.reg.Swapped():
			s.look(ctx)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		r.drop()
	}
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

// look starts a run for every served task version whose verdict is
// pending and that has none for the same files, and cancels the runs of
// files no longer served.
func (s *Scheduler) look(ctx context.Context) {
	snap := s.reg.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch++
	replaced := map[string]int64{} // identity to the batch of the run canceled
	for id, r := range s.runs {
		if cur, ok := snap.Task(r.task.ID, r.task.Version); !ok || cur.TestDigest != r.task.TestDigest {
			s.log.Info("tests canceled: the task changed", "task", r.task.ID, "version", r.task.Version, "served", ok)
			r.drop()
			delete(s.runs, id)
			if ok {
				replaced[id] = r.batch
			}
		}
	}
	added := 0
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			id := t.ID + "@" + t.Version
			if _, ok := s.runs[id]; ok || snap.Verdict(t).Status != registry.VerdictPending {
				continue
			}
			batch, ok := replaced[id]
			if !ok {
				batch = s.batch
			}
			s.seq++
			r := &taskRun{task: t, id: id, batch: batch, seq: s.seq}
			r.ctx, r.cancel = context.WithCancel(ctx)
			s.runs[id] = r
			heap.Push(&s.queue, r)
			added++
		}
	}
	if added > 0 {
		s.cond.Broadcast()
	}
	s.count()
}

// count tells the hook how many task versions wait for a verdict.
func (s *Scheduler) count() {
	if s.hooks.Queue != nil {
		s.hooks.Queue(len(s.runs))
	}
}

// step is one thing for a worker to do: prepare a run (find its verdict
// kept, or read what its cases share), run its case i, or hand its
// verdict over.
type step struct {
	run      *taskRun
	prepare  bool
	i        int
	complete bool
}

// next waits for a step; a zero step once the scheduler is closed.
func (s *Scheduler) next() step {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for s.queue.Len() == 0 && !s.closed {
			s.cond.Wait()
		}
		if s.closed {
			return step{}
		}
		r := s.queue[0]
		switch {
		case r.dropped:
			heap.Pop(&s.queue)
		case r.names == nil:
			heap.Pop(&s.queue) // back in the queue once prepared
			return step{run: r, prepare: true}
		case s.budget > 0 && r.spent >= s.budget:
			heap.Pop(&s.queue)
			for ; r.next < len(r.names); r.next++ {
				r.results[r.next] = registry.CaseResult{File: r.names[r.next], Status: registry.CaseError,
					Message: fmt.Sprintf("not run: the task's budget of %s a run (tests.task_budget) ran out", s.budget)}
			}
			if r.running == 0 {
				return step{run: r, complete: true}
			}
		default:
			i := r.next
			r.next++
			r.running++
			if r.next == len(r.names) {
				heap.Pop(&s.queue)
			}
			return step{run: r, i: i}
		}
	}
}

func (s *Scheduler) work(ctx context.Context) {
	for st := s.next(); st.run != nil; st = s.next() {
		r := st.run
		switch {
		case st.prepare:
			s.prepare(r)
		case st.complete:
			s.complete(r)
		default:
			res, ok := s.runCase(r, st.i)
			if ctx.Err() != nil {
				return
			}
			if ok && s.finished(r, st.i, res) {
				s.complete(r)
			}
		}
	}
}

// prepare takes the verdict kept for a run's files, or reads what its
// cases share and queues it again, its cases to be handed out. It gives
// up when the files changed on disk since the snapshot was built: the
// reload that follows starts another run.
func (s *Scheduler) prepare(r *taskRun) {
	t := r.task
	if cur, ok := s.reg.Snapshot().Task(t.ID, t.Version); !ok || cur.TestDigest != t.TestDigest {
		s.forget(r) // superseded while it waited
		return
	}
	if s.store != nil {
		v, err := s.store.Load(t)
		if err != nil {
			s.log.Warn("verdict file discarded; the tests run again", "task", t.ID, "version", t.Version, "error", err)
		}
		if v != nil {
			s.reg.SetVerdict(t, v)
			s.forget(r)
			return
		}
	}
	script, err := s.content.Script(t)
	if err != nil {
		s.log.Info("tests not run: the task changed on disk", "task", t.ID, "version", t.Version, "error", err)
		s.forget(r)
		return
	}
	names := taskformat.CaseNames(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.dropped {
		return
	}
	r.script, r.names, r.results = script, names, make([]registry.CaseResult, len(names))
	if len(names) > 0 {
		heap.Push(&s.queue, r)
		s.cond.Broadcast()
	}
}

// runCase reads case i of a run and runs it. It gives up (false) when the
// run was canceled or its files changed on disk.
func (s *Scheduler) runCase(r *taskRun, i int) (registry.CaseResult, bool) {
	tc, err := s.content.TestCase(r.task, r.names[i])
	if err != nil {
		s.log.Info("tests not run: the task changed on disk", "task", r.task.ID, "version", r.task.Version, "error", err)
		s.forget(r)
		return registry.CaseResult{}, false
	}
	c := caseOf(tc, r.script, r.task)
	c.Detail = detailShare(len(r.names))
	res := s.run(r.ctx, c)
	if r.ctx.Err() != nil {
		return res, false
	}
	if s.hooks.Case != nil {
		s.hooks.Case(res.Status, res.Duration)
	}
	return res, true
}

// maxVerdictDetail is shared out among a verdict's cases for their
// messages and values, so that a task of many cases keeps a verdict of
// bounded size (and a verdict file the store reads back): each case keeps
// its share or the engine's caps, whichever is less, but at least
// minDetail of message.
const maxVerdictDetail, minDetail = 4 << 20, 256

// detailShare is the detail each of n cases may keep.
func detailShare(n int) int { return maxVerdictDetail / max(n, 1) }

// finished records case i's result; it reports whether that was the last
// case the run was waiting for.
func (s *Scheduler) finished(r *taskRun, i int, res registry.CaseResult) bool {
	// The worker capped it already; a result is believed only so far.
	res = res.Capped(detailCaps(detailShare(len(r.names))))
	s.mu.Lock()
	defer s.mu.Unlock()
	r.results[i] = res
	r.spent += res.Duration
	r.running--
	return !r.dropped && r.running == 0 && r.next == len(r.names)
}

// complete hands a run's verdict to the registry and keeps it in the
// store.
func (s *Scheduler) complete(r *taskRun) {
	t := r.task
	v := registry.NewVerdict(t.TestDigest, r.results)
	if s.store != nil {
		if err := s.store.Save(v); err != nil {
			s.log.Warn("verdict not kept for the next start", "task", t.ID, "version", t.Version, "error", err)
		}
	}
	s.reg.SetVerdict(t, v)
	s.forget(r)
}

// forget ends a run: a look that finds the task still pending starts
// another.
func (s *Scheduler) forget(r *taskRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.drop()
	if s.runs[r.id] == r {
		delete(s.runs, r.id)
	}
	s.count()
}

// Cases reads a task's test cases, each ready to run.
func Cases(content *taskformat.Content, t *registry.Task) ([]Case, error) {
	script, err := content.Script(t)
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, name := range taskformat.CaseNames(t) {
		tc, err := content.TestCase(t, name)
		if err != nil {
			return nil, err
		}
		out = append(out, caseOf(tc, script, t))
	}
	return out, nil
}

// caseOf is one case of t, ready to run.
func caseOf(tc taskformat.TestCase, script string, t *registry.Task) Case {
	c := NewCase(tc)
	c.Script = script
	c.InputSchema, c.OutputSchema = json.RawMessage(t.InputSchema), json.RawMessage(t.OutputSchema)
	return c
}

// taskRun is one run of the cases of a task version's files. The
// scheduler's lock guards what changes.
type taskRun struct {
	task   *registry.Task
	id     string
	batch  int64 // the look that found it (or the run it replaced): newer first
	seq    int64 // then in the order found
	ctx    context.Context
	cancel context.CancelFunc

	dropped bool                  // canceled or done: nothing more is handed out
	script  string                // set when prepared
	names   []string              // the cases, by file; nil until prepared
	next    int                   // the next case to hand out
	running int                   // cases handed out and not finished
	results []registry.CaseResult // by case
	spent   time.Duration         // the finished cases' times, summed
}

// drop stops a run: its running cases are canceled, its others never
// start. The caller holds the scheduler's lock.
func (r *taskRun) drop() {
	r.dropped = true
	r.cancel()
}

// runQueue orders runs: the newest look first, then in the order found.
type runQueue []*taskRun

func (q runQueue) Len() int { return len(q) }
func (q runQueue) Less(i, j int) bool {
	if q[i].batch != q[j].batch {
		return q[i].batch > q[j].batch
	}
	return q[i].seq < q[j].seq
}
func (q runQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *runQueue) Push(x any)   { *q = append(*q, x.(*taskRun)) }
func (q *runQueue) Pop() any {
	old := *q
	r := old[len(old)-1]
	*q = old[:len(old)-1]
	return r
}
