package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// sizeFlag is a flag that takes a size like 256MiB.
type sizeFlag struct{ s *string }

func (f sizeFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f sizeFlag) Set(v string) error {
	if _, err := parseSize(v); err != nil {
		return err
	}
	*f.s = v
	return nil
}

// taskRun is one task version's cases and their results.
type taskRun struct {
	task    *registry.Task
	cases   []runner.Case
	results []registry.CaseResult
}

// runTest loads the paths as validate does and runs every test case of
// every task version in the sandbox. The exit code is for CI: 0 when every
// case passed and nothing failed to load, 1 otherwise, 2 on a usage error.
func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("test", "[--junit FILE] PATH ...", "Loads each task folder, task .zip or collection as validate does, runs every\ntest case of every task in sandboxed worker processes, and prints each case\nthat did not pass as FILE:LINE:COL: message (the test file, or the place in\nmain.js where an error was thrown), then a summary. Exit status: 0 when every\ncase passed and nothing failed to load, 1 otherwise, 2 on a usage error.")
	cfg := defaultConfig().Tests
	junit := fs.String("junit", "", "also write the results as JUnit XML to `FILE`")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "wall time of one case")
	fs.Var(sizeFlag{&cfg.Memory}, "memory", "memory of each worker process beyond what it needs at rest, like `256MiB`")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker processes; 0: one per CPU")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	if len(paths) == 0 {
		return usageError(fs, errors.New("no PATH: give the task folders, zips or collections to test"), stdout, stderr)
	}
	if err := checkTestFlags(fs, cfg); err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	log := newLogger(fs, stderr)
	snap, problems := loadPaths(ctx, paths)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	pool, err := newPool(cfg, log, nil)
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	defer pool.Close()
	runs, err := runAll(ctx, snap, taskformat.NewContent(64<<20), pool)
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	total, passed, versions := 0, 0, 0
	tasks := map[string]bool{} // by id: the versions of one task are one task
	for _, r := range runs {
		if len(r.results) > 0 {
			versions++
			tasks[r.task.ID] = true
		}
		for i, res := range r.results {
			total++
			if res.Status == registry.CasePassed {
				passed++
				continue
			}
			fmt.Fprintln(stdout, caseProblem(r.task, r.cases[i], res))
		}
	}
	in := plural(len(tasks), "task")
	if versions != len(tasks) {
		in += " (" + plural(versions, "version") + ")"
	}
	fmt.Fprintf(stdout, "%s in %s: %d passed, %d failed", plural(total, "case"), in, passed, total-passed)
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "; %s loading", plural(len(problems), "problem"))
	}
	fmt.Fprintln(stdout)
	if *junit != "" {
		if err := writeJUnit(*junit, runs, problems); err != nil {
			fmt.Fprintln(stderr, "test:", err)
			return 1
		}
	}
	if ctx.Err() != nil || passed < total || len(problems) > 0 {
		return 1
	}
	return 0
}

// runAll runs every case of every task version, as many at once as the
// pool has workers, and returns the runs in path order.
func runAll(ctx context.Context, snap *registry.Snapshot, content *taskformat.Content, pool *runner.Pool) ([]*taskRun, error) {
	var runs []*taskRun
	type ref struct{ run, i int }
	var todo []ref
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			cases, err := runner.Cases(content, t)
			if err != nil {
				return nil, err
			}
			runs = append(runs, &taskRun{task: t, cases: cases, results: make([]registry.CaseResult, len(cases))})
			for i := range cases {
				todo = append(todo, ref{len(runs) - 1, i})
			}
		}
	}
	next := make(chan ref)
	var wg sync.WaitGroup
	for range pool.Workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				run := runs[r.run]
				run.results[r.i] = pool.Run(ctx, run.cases[r.i])
			}
		}()
	}
	for _, r := range todo {
		next <- r
	}
	close(next)
	wg.Wait()
	slices.SortFunc(runs, func(a, b *taskRun) int { return cmp.Compare(a.task.Path, b.task.Path) })
	return runs, nil
}

// caseProblem is the line printed for a case that did not pass: at the
// place in main.js where the engine saw the error, else at the test file.
func caseProblem(t *registry.Task, c runner.Case, r registry.CaseResult) problem {
	msg := r.Message
	if r.Status == registry.CaseTimeout && msg == "" {
		msg = "timeout"
	}
	if r.Line > 0 {
		return problem{path: t.FilePath("main.js"), line: r.Line, col: r.Column, msg: c.File + ": " + msg}
	}
	return problem{path: t.FilePath(c.File), msg: msg}
}

// elapsed is a duration in seconds, as JUnit writes it.
func elapsed(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
