package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

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

// testFlags adds the flags that mirror tests.timeout, tests.memory and
// tests.workers, setting t, and returns which key each mirrors.
func testFlags(fs *flag.FlagSet, t *TestsConfig) map[string]string {
	fs.DurationVar(&t.Timeout, "timeout", t.Timeout, "wall time of one test case")
	fs.Var(sizeFlag{&t.Memory}, "memory", "memory of each worker process beyond what it needs at rest, like `256MiB`")
	fs.IntVar(&t.Workers, "workers", t.Workers, "worker processes; 0: one per CPU")
	return map[string]string{"timeout": "tests.timeout", "memory": "tests.memory", "workers": "tests.workers"}
}

// runTest loads the paths as validate does and runs every test case of
// every task version in the sandbox. The exit code is for CI: 0 when every
// case passed and nothing failed to load, 1 otherwise, 2 on a usage error.
func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("test", "[--junit FILE] PATH ...", "Loads each task folder, task .zip or collection as validate does, runs every\ntest case of every task in sandboxed worker processes, and prints each case\nthat did not pass as FILE:LINE:COL: message (the test file, or the place in\nmain.js where an error was thrown), then a summary. Exit status: 0 when every\ncase passed and nothing failed to load, 1 otherwise, 2 on a usage error.")
	c := defaultConfig()
	junit := fs.String("junit", "", "also write the results as JUnit XML to `FILE`")
	keys := testFlags(fs, &c.Tests) // checked as the configuration keys they mirror
	paths, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	if len(paths) == 0 {
		return usageError(fs, errors.New("no PATH: give the task folders, zips or collections to test"), stdout, stderr)
	}
	if err := c.checkFlags(fs, keys); err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	log := newLogger(fs, stderr)
	snap, problems := loadPaths(ctx, paths)
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	pool, err := newPool(c.Tests, log, nil)
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	defer pool.Close()
	runs, err := runner.RunAll(ctx, snap, taskformat.NewContent(contentBudget), pool.Run, pool.Workers())
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	r := runner.NewReport(runs, snap)
	for _, p := range r.Failed {
		fmt.Fprintln(stdout, p)
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(stdout, w)
	}
	in := plural(r.Tasks, "task")
	if r.Versions != r.Tasks {
		in += " (" + plural(r.Versions, "version") + ")"
	}
	fmt.Fprintf(stdout, "%s in %s: %d passed, %d failed", plural(r.Cases, "case"), in, r.Passed, r.Cases-r.Passed)
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "; %s loading", plural(len(problems), "problem"))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(stdout, "; %s (above)", plural(len(r.Warnings), "warning"))
	}
	fmt.Fprintln(stdout)
	if *junit != "" {
		if err := runner.WriteJUnit(*junit, runs, problems); err != nil {
			fmt.Fprintln(stderr, "test:", err)
			return 1
		}
	}
	if ctx.Err() != nil || r.Passed < r.Cases || len(problems) > 0 {
		return 1
	}
	return 0
}
