package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// The program's signals, all here: SIGINT and SIGTERM shut it down
// gracefully, and a second one, or stopDeadline, ends it at once; SIGHUP
// makes serve rescan every source.

// stopDeadline is the most that stopping may take once a signal asked
// for it: serve gives its HTTP server 10s to finish the requests under
// way, then its sources, streams and test workers stop. A process still
// there past it is stuck, and a supervisor would kill it harder later.
const stopDeadline = 20 * time.Second

// runMain is main: run under the signals that stop it.
func runMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := shutdownContext(context.Background())
	defer stop()
	return runStoppable(ctx, stopDeadline, stderr, func(ctx context.Context) int { return run(ctx, args, stdout, stderr) })
}

// shutdownContext is ctx, cancelled at the first SIGINT or SIGTERM. The
// signals are no longer caught from then on: a second one ends the
// process at once, as an operator who presses Ctrl-C twice expects.
func shutdownContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// runStoppable runs f and returns its exit code, or 1 when f has not
// returned deadline after ctx ended: what is still running then is left
// to the process's exit, which follows at once.
func runStoppable(ctx context.Context, deadline time.Duration, stderr io.Writer, f func(context.Context) int) int {
	done := make(chan int, 1)
	go func() { done <- f(ctx) }()
	select {
	case code := <-done:
		return code
	case <-ctx.Done():
	}
	t := time.NewTimer(deadline)
	defer t.Stop()
	select {
	case code := <-done:
		return code
	case <-t.C:
		fmt.Fprintf(stderr, "ratchet-registry: still stopping %s after the signal: exiting\n", deadline)
		return 1
	}
}

// rescanSignals delivers each SIGHUP until stop is called.
func rescanSignals() (hup <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}
