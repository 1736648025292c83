package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// runIndex writes index.json and the bundles of a task tree, ready for any
// static host, like `helm repo index`. It refuses a tree with problems.
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder to write index.json and tasks/ into (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ratchet-registry index DIR --out OUT")
		fs.PrintDefaults()
	}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(paths) != 1 || *out == "" {
		fs.Usage()
		return 2
	}
	snap, problems := loadPaths(ctx, paths)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "index not written: %s in %s\n", plural(len(problems), "problem"), paths[0])
		return 1
	}
	n, err := writeIndex(snap, *out)
	if err != nil {
		fmt.Fprintf(stderr, "index: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s with %s\n", filepath.Join(*out, "index.json"), plural(n, "bundle"))
	return 0
}

func writeIndex(snap *registry.Snapshot, out string) (int, error) {
	content := registry.NewContent(0) // nothing to keep: each bundle is written once
	bundles := map[string]registry.Bundle{}
	idx, errs := registry.BuildIndex(snap, func(t *registry.Task) (registry.Bundle, error) {
		b, err := content.Bundle(t)
		if err == nil {
			bundles[registry.BundlePath(t.ID, t.Version)] = b
		}
		return b, err
	})
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	for p, b := range bundles {
		dst := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(dst, b.Data, 0o644); err != nil {
			return 0, err
		}
	}
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return 0, err
	}
	return len(bundles), os.WriteFile(filepath.Join(out, "index.json"), append(data, '\n'), 0o644)
}

// parseInterspersed lets flags follow positional arguments, as in
// `index DIR --out OUT`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
