package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
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
func startTests(ctx context.Context, cfg TestsConfig, cacheDir string, reg *registry.Registry, content *taskformat.Content,
	log *slog.Logger, metrics *httpapi.Metrics) (stop func(), err error) {
	pool, err := newPool(cfg, log, metrics.WorkerRestarted)
	if err != nil {
		return nil, err
	}
	var store *runner.Store
	if dir, err := verdictDir(cacheDir); err != nil {
		log.Warn("verdicts are not kept across restarts", "error", err)
	} else if store, err = runner.NewStore(dir, runner.Limits{Timeout: cfg.Timeout, Memory: cfg.MemoryBytes(), TaskBudget: cfg.TaskBudget}); err != nil {
		log.Warn("verdicts are not kept across restarts", "error", err)
		store = nil
	}
	sched := runner.NewScheduler(reg, content, pool.Run, store, pool.Workers(), cfg.TaskBudget, log, runner.Hooks{
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
	log.Info("tests run on every change", "workers", pool.Workers(), "timeout", cfg.Timeout, "memory", cfg.Memory, "task_budget", cfg.TaskBudget)
	return func() {
		cancel()
		wg.Wait()
		pool.Close()
	}, nil
}

// verdictDir is where verdicts are kept across restarts: verdicts/ in
// registry.cache_dir, or in the user's cache folder.
func verdictDir(cacheDir string) (string, error) {
	if cacheDir == "" {
		user, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cacheDir = filepath.Join(user, "ratchet-registry")
	}
	return filepath.Join(cacheDir, "verdicts"), nil
}
