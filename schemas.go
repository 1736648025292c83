package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat/taskschema"
)

// runSchemas writes the JSON Schemas of metadata.json and test files, for
// editors. They are named NAME.schema.json, not metadata.json, so that the
// folder they are written to is never taken for a task.
func runSchemas(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("schemas", "DIR", `Writes DIR/metadata.schema.json and DIR/test.schema.json, the JSON Schemas of
a task's metadata.json and of its tests/*.json, which editors use to complete
keys and flag typos such as "lable" or "expectedOutput". A running server
serves the same at /schemas/metadata.json and /schemas/test.json. Existing
schema files are replaced.`)
	dirs, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	switch len(dirs) {
	case 0:
		return usageError(fs, errors.New("no DIR: say which folder to write the schemas into"), stdout, stderr)
	case 1:
	default:
		return usageError(fs, fmt.Errorf("one DIR at a time, got %d: %s", len(dirs), strings.Join(dirs, " ")), stdout, stderr)
	}
	if err := taskschema.Write(dirs[0], func(path string) { fmt.Fprintln(stdout, "wrote", path) }); err != nil {
		fmt.Fprintf(stderr, "ratchet-registry schemas: %v\n", err)
		return 1
	}
	return 0
}
