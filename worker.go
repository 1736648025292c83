package main

import (
	"fmt"
	"io"
	"log/slog"
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

// newPool makes the pool of sandboxed test workers: this same binary,
// started with the hidden __test-worker command.
func newPool(cfg TestsConfig, log *slog.Logger, restarted func(string)) (*runner.Pool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program to start test workers: %w", err)
	}
	return runner.NewPool(runner.PoolConfig{
		Command: []string{exe, "__test-worker"}, Env: os.Environ(), Workers: cfg.Workers,
		Limits: runner.Limits{Timeout: cfg.Timeout, Memory: cfg.MemoryBytes()}, Log: log, Restarted: restarted,
	}), nil
}
