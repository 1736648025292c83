package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// The program's signals, all here: SIGINT and SIGTERM shut it down
// gracefully; SIGHUP makes serve rescan every source.

// shutdownContext is ctx, cancelled at the first SIGINT or SIGTERM.
func shutdownContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// rescanSignals delivers each SIGHUP until stop is called.
func rescanSignals() (hup <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}
