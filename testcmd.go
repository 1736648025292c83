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

// taskRun is one task version's cases, by file, and their results.
type taskRun struct {
	task    *registry.Task
	names   []string
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
	runs, err := runAll(ctx, snap, taskformat.NewContent(64<<20), pool.Run, pool.Workers())
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	total, passed, versions := 0, 0, 0
	tasks := map[string]bool{} // by id: the versions of one task are one task
	said := map[string]bool{}  // test files whose case is printed, with its warning's place
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
			p := caseProblem(r.task, r.names[i], res)
			said[r.task.FilePath(r.names[i])] = true
			fmt.Fprintln(stdout, p)
		}
	}
	// The warnings of cases that ran anyway (an unknown key): said once
	// each, at their place, as validate says them.
	nwarn := 0
	for _, w := range sortProblems(testWarnings(snap)) {
		if !said[w.path] {
			fmt.Fprintln(stdout, w)
			nwarn++
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
	if nwarn > 0 {
		fmt.Fprintf(stdout, "; %s (above)", plural(nwarn, "warning"))
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

// runAll runs every case of every task version with run (a pool's Run),
// workers at once, and returns the runs in path order. A worker reads
// each case as it runs it, as serve's scheduler does: what is held at
// once is a case a worker, not every case of the catalogue. It fails when
// a file changed on disk since it was loaded.
func runAll(ctx context.Context, snap *registry.Snapshot, content *taskformat.Content,
	run func(context.Context, runner.Case) registry.CaseResult, workers int) ([]*taskRun, error) {
	var runs []*taskRun
	for _, e := range snap.Entries() {
		for _, t := range e.Versions {
			names := taskformat.CaseNames(t)
			runs = append(runs, &taskRun{task: t, names: names, results: make([]registry.CaseResult, len(names))})
		}
	}
	type ref struct {
		run *taskRun
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
				script, err := content.Script(r.run.task)
				var c runner.Case
				if err == nil {
					c, err = runner.ReadCase(content, r.run.task, script, r.run.names[r.i])
				}
				if err != nil {
					once.Do(func() {
						first = err
						close(halt)
						cancel()
					})
					continue
				}
				r.run.results[r.i] = run(ctx, c)
			}
		})
	}
hand:
	for _, run := range runs {
		for i := range run.names {
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
	slices.SortFunc(runs, func(a, b *taskRun) int { return cmp.Compare(a.task.Path, b.task.Path) })
	return runs, nil
}

// caseProblem is the line printed for a case that did not pass: at the
// place in main.js where the engine saw the error, else at the test file,
// at the place of its first warning when it has one (where its JSON
// breaks, say).
func caseProblem(t *registry.Task, file string, r registry.CaseResult) problem {
	msg := r.Message
	if r.Status == registry.CaseTimeout && msg == "" {
		msg = "timeout"
	}
	if r.Line > 0 {
		return problem{path: t.FilePath("main.js"), line: r.Line, col: r.Column, msg: file + ": " + msg}
	}
	p := problem{path: t.FilePath(file), msg: msg}
	for _, w := range t.Warnings {
		if w.File == file && w.Line > 0 && (p.line == 0 || w.Line < p.line) {
			p.line, p.col = w.Line, w.Column
		}
	}
	return p
}

// elapsed is a duration in seconds, as JUnit writes it.
func elapsed(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
