package lsp

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
)

// verdict is what the cases of one text of a task did.
type verdict struct {
	digest  string // the task's TestDigest when they ran
	cases   []runner.Case
	results []registry.CaseResult
}

// verdictDone is a test run's end, sent to the loop.
type verdictDone struct {
	r      *root
	digest string
	v      *verdict // nil when the run went stale
}

// test runs r's cases in the sandbox when r is open in the editor and its
// text has no verdict yet, nor a run in flight. A run goes on in the
// background; a later load of r makes it stale, and a stale run starts no
// more cases (one already in a worker finishes, as killing the worker to
// stop it would cost a new process on every keystroke).
func (w *workspace) test(r *root) {
	t := r.res.Task
	if t == nil || r.removed || r.zip || !w.hasOpenDoc(r) || w.s.cfg.Run == nil {
		return
	}
	if (r.verdict != nil && r.verdict.digest == t.TestDigest) || r.running == t.TestDigest {
		return
	}
	cases, err := testCases(w.s.content, t)
	if err != nil {
		w.s.log.Debug("tests not run", "task", t.Path, "error", err)
		return
	}
	if len(cases) == 0 {
		r.verdict = &verdict{digest: t.TestDigest}
		return
	}
	r.running = t.TestDigest
	gen := r.gen.Load()
	v := &verdict{digest: t.TestDigest, cases: cases, results: make([]registry.CaseResult, len(cases))}
	ctx, run, workers, slots := w.s.ctx, w.s.cfg.Run, min(w.s.cfg.Workers, len(cases)), w.s.slots
	// A run waits for a worker here, not in the pool: a later text of the
	// task ends the wait, so that typing never queues up the cases of
	// every text typed, each to run to its end (a script that spins ran
	// a timeout for every pause in the typing, one after the other).
	waiting, stop := context.WithCancel(ctx)
	r.stopRun = stop
	w.s.wg.Go(func() {
		defer stop()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for ctx.Err() == nil && r.gen.Load() == gen {
					i := int(next.Add(1)) - 1
					if i >= len(cases) {
						return
					}
					select {
					case slots <- struct{}{}:
					case <-waiting.Done():
						return
					}
					v.results[i] = run(ctx, cases[i])
					<-slots
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil || waiting.Err() != nil || r.gen.Load() != gen {
			v = nil // stale: some cases never ran
		}
		select {
		case w.s.verdicts <- verdictDone{r: r, digest: t.TestDigest, v: v}:
		case <-ctx.Done():
		}
	})
}

// verdictDone takes a finished run: its verdict shows when r still has
// the text it ran on; otherwise r's text now is run.
func (w *workspace) verdictDone(d verdictDone) {
	r := d.r
	if r.running == d.digest {
		r.running = ""
	}
	if r.removed {
		return
	}
	if t := r.res.Task; d.v != nil && t != nil && d.v.digest == t.TestDigest {
		r.verdict = d.v
		w.publish(r)
		w.s.refreshLenses()
		return
	}
	w.test(r)
}
