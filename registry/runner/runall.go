package runner

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TaskRun is one task version's cases, by file, and their results.
type TaskRun struct {
	Task    *registry.Task
	Names   []string
	Results []registry.CaseResult
}

// RunAll runs every case of every task version with run (a pool's Run),
// workers at once, and returns the runs in path order. A worker reads
// each case as it runs it, as serve's scheduler does: what is held at
// once is a case a worker, not every case of the catalogue. It fails when
// a file changed on disk since it was loaded.
func RunAll(ctx context.Context, snap *registry.Snapshot, content *taskformat.Content,
	run func(context.Context, Case) registry.CaseResult, workers int) ([]*TaskRun, error) {
	var runs []*TaskRun
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			names := taskformat.CaseNames(t)
			runs = append(runs, &TaskRun{Task: t, Names: names, Results: make([]registry.CaseResult, len(names))})
		}
	}
	type ref struct {
		run *TaskRun
		i   int
	}
	// A case that cannot be read fails the command: the others stop, and
	// no more are handed out. An interrupt only cancels the runs, which
	// then end at once, each with its result.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error // the first case that could not be read
	)
	halt := make(chan struct{})
	next := make(chan ref)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range next {
				script, err := content.Script(r.run.Task)
				var c Case
				if err == nil {
					c, err = ReadCase(content, r.run.Task, script, r.run.Names[r.i])
				}
				if err != nil {
					once.Do(func() {
						first = err
						close(halt)
						cancel()
					})
					continue
				}
				r.run.Results[r.i] = run(ctx, c)
			}
		})
	}
hand:
	for _, run := range runs {
		for i := range run.Names {
			select {
			case next <- ref{run, i}:
			case <-halt:
				break hand
			}
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	slices.SortFunc(runs, func(a, b *TaskRun) int { return cmp.Compare(a.Task.Path, b.Task.Path) })
	return runs, nil
}

// CaseProblem is the line printed for a case that did not pass: at the
// place in main.js where the engine saw the error, else at the test file,
// at the place of its first warning when it has one (where its JSON
// breaks, say).
func CaseProblem(t *registry.Task, file string, r registry.CaseResult) taskformat.Problem {
	msg := r.Message
	if r.Status == registry.CaseTimeout && msg == "" {
		msg = "timeout"
	}
	if r.Line > 0 {
		return taskformat.Problem{Path: t.FilePath("main.js"), Line: r.Line, Col: r.Column, Msg: file + ": " + msg}
	}
	p := taskformat.Problem{Path: t.FilePath(file), Msg: msg}
	for _, w := range t.Warnings {
		if w.File == file && w.Line > 0 && (p.Line == 0 || w.Line < p.Line) {
			p.Line, p.Col = w.Line, w.Column
		}
	}
	return p
}

// Report is what the runs of RunAll come to, as the test command says it.
type Report struct {
	Cases, Passed   int
	Tasks, Versions int // tasks by id: the versions of one task are one task
	// Failed is a line for each case that did not pass, in run order.
	Failed []taskformat.Problem
	// Warnings are those of test files whose case ran anyway (an unknown
	// key) and is not in Failed, sorted: each said once, at its place.
	Warnings []taskformat.Problem
}

// NewReport counts runs, made of the tasks of snap.
func NewReport(runs []*TaskRun, snap *registry.Snapshot) Report {
	var r Report
	tasks := map[string]bool{}
	said := map[string]bool{} // test files whose case is in Failed, with its warning's place
	for _, run := range runs {
		if len(run.Results) > 0 {
			r.Versions++
			tasks[run.Task.ID] = true
		}
		for i, res := range run.Results {
			r.Cases++
			if res.Status == registry.CasePassed {
				r.Passed++
				continue
			}
			r.Failed = append(r.Failed, CaseProblem(run.Task, run.Names[i], res))
			said[run.Task.FilePath(run.Names[i])] = true
		}
	}
	r.Tasks = len(tasks)
	for _, w := range taskformat.SortProblems(taskformat.Warnings(snap)) {
		if !said[w.Path] {
			r.Warnings = append(r.Warnings, w)
		}
	}
	return r
}
