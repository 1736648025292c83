package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
)

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

// startTests runs every task's tests on every change until ctx ends; stop
// waits for the scheduler and stops the workers.
func startTests(ctx context.Context, cfg TestsConfig, reg *registry.Registry, content *registry.Content,
	log *slog.Logger, metrics *httpapi.Metrics) (stop func(), err error) {
	pool, err := newPool(cfg, log, metrics.WorkerRestarted)
	if err != nil {
		return nil, err
	}
	sched := runner.NewScheduler(reg, content, pool.Run, pool.Workers(), log, runner.Hooks{
		Case:  func(s registry.CaseStatus, d time.Duration) { metrics.TestCase(string(s), d) },
		Queue: metrics.TestQueue,
	})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sched.Run(ctx)
	}()
	log.Info("tests run on every change", "workers", pool.Workers(), "timeout", cfg.Timeout, "memory", cfg.Memory)
	return func() {
		cancel()
		wg.Wait()
		pool.Close()
	}, nil
}
