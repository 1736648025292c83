package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// runNew writes a new task folder, or copies a task to a sibling folder
// with a new version. It never overwrites anything.
func runNew(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("new", "[--description TEXT] [--version VERSION] NAME\n       ratchet-registry new --from PATH --version VERSION [NAME]",
		`Writes the folder NAME holding a complete, valid task: a fresh UUID, version
0.1.0, a label made from NAME, input and output schemas, a main.js that works
and one test case that passes. With --from, copies the task folder PATH to a
sibling folder with the new version: versions live side by side, so the old one
stays served. The copy is named after the version when PATH's folder is named
after its own version (greet/1.0.0 gives greet/1.1.0), NAME-VERSION otherwise
(add gives add-1.1.0); give NAME to choose. Nothing existing is overwritten.
With --uuid alone, prints a fresh UUID and writes nothing: the new identity
for a task folder that was copied without one.`)
	description := flags.String("description", "", "the task's description, in metadata.json")
	version := flags.String("version", "", "the version to write, SemVer 2.0.0 (default 0.1.0; required with --from)")
	from := flags.String("from", "", "copy the task folder `PATH` as a new version")
	printUUID := flags.Bool("uuid", false, "print a fresh UUID and write nothing")
	names, err := parseArgs(flags, args)
	if err != nil {
		return usageError(flags, err, stdout, stderr)
	}
	if *printUUID {
		if len(names) > 0 || *from != "" || *version != "" || *description != "" {
			return usageError(flags, errors.New("--uuid takes nothing else: it only prints a fresh UUID"), stdout, stderr)
		}
		fmt.Fprintln(stdout, taskformat.NewID())
		return 0
	}
	if len(names) > 1 {
		return usageError(flags, fmt.Errorf("one NAME at a time, got %d: %s", len(names), strings.Join(names, " ")), stdout, stderr)
	}
	if *version != "" {
		if _, err := registry.ParseVersion(*version); err != nil {
			return usageError(flags, fmt.Errorf("--version %q is not a SemVer 2.0.0 version such as 1.2.0 (no leading v)", *version), stdout, stderr)
		}
	}
	var dst string
	if *from == "" {
		if len(names) == 0 {
			return usageError(flags, errors.New("no NAME: say which folder to write the task into"), stdout, stderr)
		}
		dst = names[0]
		err = taskformat.Scaffold(dst, cmp.Or(*version, "0.1.0"), *description)
	} else {
		switch {
		case *version == "":
			return usageError(flags, errors.New("--from needs --version: the version of the copy"), stdout, stderr)
		case *description != "":
			return usageError(flags, errors.New("--description is for a new task; with --from, edit the copy's metadata.json"), stdout, stderr)
		}
		dst = taskformat.SiblingName(*from, *version)
		if len(names) == 1 {
			dst = names[0]
		}
		err = taskformat.CopyVersion(*from, dst, *version)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ratchet-registry new: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\ncheck it with: %s validate %s\n", dst, invokedAs(os.Args[0]), dst)
	return 0
}
