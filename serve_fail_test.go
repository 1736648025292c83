package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/httpapi"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestRunServerClosesListenerWhenTestsFail: a test runner that cannot
// start ends runServer with its error, and the port it was given is free
// again: nothing listens on it any more.
func TestRunServerClosesListenerWhenTestsFail(t *testing.T) {
	cfg := defaultConfig()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	feed := registry.NewFeed(16, 16)
	reg := registry.New(time.Now, feed)
	metrics := httpapi.NewMetrics(httpapi.MetricsSources{Registry: reg, Feed: feed})
	svc := registry.NewService(reg, log, metrics.Hooks())
	handler, err := newHandler(cfg, reg, feed, taskformat.NewContent(1<<20), metrics, svc, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	broken := errors.New("no test workers")
	err = runServer(t.Context(), log, svc, func(context.Context) (func(), error) { return nil, broken }, handler, ln,
		func(context.Context) bool { return false })
	if !errors.Is(err, broken) {
		t.Fatalf("got %v, want %v", err, broken)
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closing the listener after runServer: got %v, want it closed already", err)
	}
}
