package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
)

// TestRunServerClosesListenerWhenTestsFail: a test runner that cannot
// start ends Main.Run with its error, and the port it was given is free
// again: nothing listens on it any more.
func TestRunServerClosesListenerWhenTestsFail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	broken := errors.New("no test workers")
	m := &Main{Config: defaultConfig(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln,
		startTests: func(context.Context) (func(), error) { return nil, broken }}
	err = m.Run(t.Context())
	m.Close()
	if !errors.Is(err, broken) {
		t.Fatalf("got %v, want %v", err, broken)
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closing the listener after Run: got %v, want it closed already", err)
	}
}
