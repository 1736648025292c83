package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry/lsp"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// runLSP is the lsp command: a language server on standard input and
// output, with the tests run in the same sandbox as serve's.
func runLSP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("lsp", "[--debounce D] [--watch MODE] [--timeout D] [--memory SIZE] [--workers N]",
		`Speaks the Language Server Protocol on standard input and output, for editors.
Every task under the workspace folders is checked as validate checks it, with
the editor's unsaved text in place of the disk's; the tests of the tasks open
in the editor run in the sandbox, and their verdicts show where they fail.
The log goes to standard error.`)
	c := defaultConfig()
	debounce := fs.Duration("debounce", lsp.DefaultDebounce, "quiet time after a keystroke before the task is checked again")
	fs.StringVar(&c.Watch.Mode, "watch", c.Watch.Mode, "how files changed outside the editor are noticed, `MODE` auto, fsnotify, poll or off")
	keys := testFlags(fs, &c.Tests) // checked as the configuration keys they mirror
	keys["watch"] = "watch.mode"
	maxMessage := fs.Int64("max-message", lsp.DefaultMaxMessage, "bytes of one message from the editor; a larger one is refused")
	maxOpen := fs.Int("max-open", lsp.DefaultMaxOpen, "documents open at once that are checked as the editor has them; others are checked as saved")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	switch {
	case len(rest) > 0:
		return usageError(fs, fmt.Errorf("lsp takes no PATH, got %q: the editor names the workspace folders", rest[0]), stdout, stderr)
	case *debounce <= 0:
		return usageError(fs, fmt.Errorf("--debounce is %s: must be more than 0", *debounce), stdout, stderr)
	case *maxMessage <= 0 || *maxOpen <= 0:
		return usageError(fs, errors.New("--max-message and --max-open must be more than 0"), stdout, stderr)
	}
	if err := c.checkFlags(fs, keys); err != nil {
		return usageError(fs, err, stdout, stderr)
	}
	log := newLogger(fs, stderr)
	pool, err := newPool(c.Tests, log, nil)
	if err != nil {
		fmt.Fprintln(stderr, "lsp:", err)
		return 1
	}
	defer pool.Close()
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	err = lsp.Serve(ctx, stdin(), stdout, lsp.Config{Debounce: *debounce, Run: pool.Run, Workers: pool.Workers(),
		Watch: watcher.Config{Mode: watcher.Mode(c.Watch.Mode)}, Log: log, Version: version, MaxMessage: *maxMessage, MaxOpen: *maxOpen, Loader: taskformat.NewLoader()})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "lsp:", err)
		return 1
	}
	return 0
}

// stdin is standard input made non-blocking, so that closing it ends a
// read in progress and the server stops without waiting for the editor.
func stdin() io.ReadCloser {
	fd := int(os.Stdin.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		return os.Stdin
	}
	return os.NewFile(uintptr(fd), "stdin")
}
