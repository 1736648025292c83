package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// runIndex writes index.json and the bundles of a task tree, ready for any
// static host, like `helm repo index`. It refuses a tree with problems.
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("index", "DIR --out OUT", "Writes index.json and a zip bundle of every task version of DIR into OUT,\nready for any static host; other registries pull it with a source of type\nhttp. A tree with any problem is refused, and its problems printed.")
	out := fs.String("out", "", "`folder` to write index.json and tasks/ into (required)")
	paths, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	switch {
	case len(paths) == 0:
		return usageError(fs, errors.New("no DIR: give the task tree to index"), stdout, stderr)
	case len(paths) > 1:
		return usageError(fs, fmt.Errorf("one DIR at a time, got %d: %s", len(paths), strings.Join(paths, " ")), stdout, stderr)
	case *out == "":
		return usageError(fs, errors.New("no --out: say which folder to write the index into"), stdout, stderr)
	}
	snap, problems := loadPaths(ctx, paths)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "index not written: %s in %s\n", plural(len(problems), "problem"), paths[0])
		return 1
	}
	warned := printWarnings(stderr, snap)
	n, err := taskformat.WriteIndex(snap, *out)
	if err != nil {
		fmt.Fprintf(stderr, "index: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s with %s%s\n", filepath.Join(*out, "index.json"), plural(n, "bundle"), warned)
	return 0
}
