package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// runValidate loads the paths as serve would and prints every problem.
// The exit code is for CI: 0 valid, 1 problems, 2 usage.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "PATH ...", "Loads each task folder, task .zip or collection as serve would and prints\nevery problem as PATH:LINE:COL: message, then a summary. Exit status: 0 when\nevery task is valid, 1 when any problem was found, 2 on a usage error.")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	if len(paths) == 0 {
		return usageError(fs, errors.New("no PATH: give the task folders, zips or collections to check"), stdout, stderr)
	}
	snap, problems := loadPaths(ctx, paths)
	warnings := taskformat.Warnings(snap)
	for _, p := range taskformat.SortProblems(append(slices.Clone(problems), warnings...)) {
		fmt.Fprintln(stdout, p)
	}
	summary := plural(len(problems), "problem")
	if len(warnings) > 0 {
		summary += ", " + plural(len(warnings), "warning")
	}
	fmt.Fprintf(stdout, "%s, %s valid; %s\n", plural(snap.TaskCount(), "task"), plural(snap.VersionCount(), "version"), summary)
	if len(problems) > 0 {
		return 1
	}
	return 0
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// loadPaths loads paths as serve would and lists every problem, sorted:
// load errors, conflicts, paths that cannot be read.
func loadPaths(ctx context.Context, paths []string) (*registry.Snapshot, []taskformat.Problem) {
	reg := registry.New(time.Now, nil)
	var problems []taskformat.Problem
	var sources []registry.Source
	quiet := slog.New(slog.DiscardHandler) // every problem is printed below
	loader := taskformat.NewLoader()
	for i, p := range paths {
		src, err := pathEntry(p).Config.Open(i, source.Deps{Loader: loader, Watch: watcher.Config{Mode: watcher.ModeOff}, Log: quiet})
		if err != nil {
			problems = append(problems, taskformat.Problem{Path: p, Msg: err.Error()})
			continue
		}
		sources = append(sources, src)
	}
	if err := registry.LoadOnce(ctx, reg, sources...); err != nil {
		problems = append(problems, taskformat.Problem{Msg: err.Error()})
	}
	snap := reg.Snapshot()
	return snap, taskformat.SortProblems(append(problems, taskformat.Problems(snap)...))
}

// printWarnings prints the warnings of the tasks in snap as validate
// prints them, for the commands that publish what validate checks: a test
// file left out of a bundle (a symlink that leads outside, a FIFO) must
// not go unsaid. It returns the summary's addition, "" for none.
func printWarnings(w io.Writer, snap *registry.Snapshot) string {
	warnings := taskformat.SortProblems(taskformat.Warnings(snap))
	for _, p := range warnings {
		fmt.Fprintln(w, p)
	}
	if len(warnings) == 0 {
		return ""
	}
	return "; " + plural(len(warnings), "warning") + " (above)"
}
