package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Limits bound every case, every worker and every task's run.
type Limits struct {
	Timeout time.Duration // wall time of one case
	Memory  int64         // bytes a worker may use beyond what it needs at rest
	// TaskBudget is the time that the cases of one task may take in one
	// run, summed; the cases left when it runs out are not run. 0: no
	// budget (the test command, which runs everything once).
	TaskBudget time.Duration
}

// DefaultTaskBudget is tests.task_budget's default: a task's cases take
// milliseconds each, and one of endless loops must not hold a worker for
// cases × timeout.
const DefaultTaskBudget = 30 * time.Second

// PoolConfig says how to start workers and how many.
type PoolConfig struct {
	// Command starts a worker: this binary and its hidden subcommand.
	Command []string
	Env     []string
	Workers int // 0: one per CPU
	Limits  Limits
	Log     *slog.Logger
	// Restarted is called when a worker died and will be replaced (for
	// metrics); it may be nil.
	Restarted func(reason string)
}

// Pool runs cases in worker processes, each under the limits, reusing a
// worker across cases and replacing one that dies.
type Pool struct {
	cfg   PoolConfig
	slots chan *slot
	all   []*slot
	seq   int64
	mu    sync.Mutex // guards seq
}

// slot is one place for a worker; its process starts when first needed
// and again after it died.
type slot struct{ p *proc }

// grace is how long past the timeout a worker may take to answer before it
// is killed: goja's interrupt does not reach inside a long native call
// (sorting or filling a huge array).
const grace = time.Second

// rssEvery is how often a running case's worker has its resident memory
// checked.
const rssEvery = 20 * time.Millisecond

// NewPool makes a pool; no process starts until a case needs one.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	p := &Pool{cfg: cfg, slots: make(chan *slot, cfg.Workers)}
	for range cfg.Workers {
		s := &slot{}
		p.all = append(p.all, s)
		p.slots <- s
	}
	return p
}

// Workers is the number of worker processes the pool may run at once.
func (p *Pool) Workers() int { return p.cfg.Workers }

// Run runs one case in a worker. It always returns a result: a worker
// that dies or overruns gives its case an ERROR or TIMEOUT naming why.
// When ctx ends first, the worker is stopped and the result says so.
func (p *Pool) Run(ctx context.Context, c Case) registry.CaseResult {
	var s *slot
	select {
	case s = <-p.slots:
	case <-ctx.Done():
		return registry.CaseResult{File: c.File, Status: registry.CaseError, Message: "canceled"}
	}
	defer func() { p.slots <- s }()
	start := time.Now()
	res := p.runIn(ctx, s, c)
	res.File = c.File
	if res.Duration == 0 {
		res.Duration = time.Since(start)
	}
	return res
}

func (p *Pool) runIn(ctx context.Context, s *slot, c Case) registry.CaseResult {
	if s.p == nil {
		w, err := start(p.cfg.Command, p.cfg.Env, hello{Memory: p.cfg.Limits.Memory, Timeout: p.cfg.Limits.Timeout})
		if err != nil {
			return registry.CaseResult{Status: registry.CaseError, Message: err.Error()}
		}
		s.p = w
	}
	w := s.p
	p.mu.Lock()
	p.seq++
	id := p.seq
	p.mu.Unlock()
	if err := w.enc.Encode(request{ID: id, Case: c}); err != nil {
		return p.replace(s, registry.CaseError, "")
	}
	deadline := time.NewTimer(p.cfg.Limits.Timeout + grace)
	defer deadline.Stop()
	tick := time.NewTicker(rssEvery)
	defer tick.Stop()
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				return p.replace(s, registry.CaseError, "")
			}
			var r response
			if err := json.Unmarshal(line, &r); err != nil || r.ID != id {
				w.kill()
				return p.replace(s, registry.CaseError, "worker answered out of turn")
			}
			return r.Result
		case <-deadline.C:
			w.kill()
			return p.replace(s, registry.CaseTimeout, fmt.Sprintf("ran longer than %s; the worker was killed", p.cfg.Limits.Timeout))
		case <-tick.C:
			if rss, err := procStatus(w.cmd.Process.Pid, "VmRSS:"); err == nil && rss > p.cfg.Limits.Memory {
				w.kill()
				return p.replace(s, registry.CaseError, "memory limit "+registry.SizeString(p.cfg.Limits.Memory))
			}
		case <-ctx.Done():
			w.kill()
			p.replace(s, registry.CaseError, "canceled")
			return registry.CaseResult{Status: registry.CaseError, Message: "canceled"}
		}
	}
}

// replace reaps a dead or killed worker; the slot starts a new one for
// its next case. The reason given wins over the one read from the exit.
func (p *Pool) replace(s *slot, status registry.CaseStatus, reason string) registry.CaseResult {
	w := s.p
	s.p = nil
	if reason == "" {
		// Its output ended: let it finish dying, so that the exit says why.
		select {
		case <-w.done:
		case <-time.After(2 * time.Second):
			w.kill()
		}
		reason = w.deathReason(p.cfg.Limits.Memory)
	}
	w.kill()
	w.stop()
	if p.cfg.Log != nil {
		p.cfg.Log.Warn("test worker replaced", "reason", reason, "stderr", w.stderr.lastLine())
	}
	if p.cfg.Restarted != nil {
		p.cfg.Restarted(reason)
	}
	return registry.CaseResult{Status: status, Message: reason}
}

// Close stops every worker and waits for them. Call it once no Run is in
// progress.
func (p *Pool) Close() {
	for _, s := range p.all {
		if s.p != nil {
			s.p.stop()
			s.p = nil
		}
	}
}
