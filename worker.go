package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
)

// runWorker is the hidden __test-worker command: a process that runs test
// cases for serve and test under the limits its parent sends first.
func runWorker(stderr io.Writer) int {
	if err := runner.Worker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(stderr, "test worker:", err)
		return 1
	}
	return 0
}
