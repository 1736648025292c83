// Package sourcetest holds what tests of the code above the sources need
// of the domain: a source that only names itself, for updates a test
// applies by hand; a service that runs real sources until the test ends;
// and a snapshot as text. It imports the domain and nothing that reads
// tasks, so that the task format's own tests can use it as well.
package sourcetest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Named is a filesystem source of that name that loads nothing: the
// source of updates that a test applies by hand.
type Named string

func (n Named) Name() string              { return string(n) }
func (n Named) Type() registry.SourceType { return "filesystem" }
func (n Named) Location() string          { return string(n) }
func (n Named) Run(context.Context, func(registry.Update), <-chan registry.Rescan) error {
	return nil
}

// Serve runs srcs on reg, in that order, in a service of their own until
// the test ends; its Rescan loads them all now, as `reload` does.
func Serve(tb testing.TB, reg *registry.Registry, srcs ...registry.Source) *registry.Service {
	tb.Helper()
	svc := registry.NewService(reg, slog.New(slog.DiscardHandler), registry.Hooks{})
	for _, src := range srcs {
		svc.Add(src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("service: %v", err)
		}
	})
	return svc
}

// Listing renders a snapshot as text, for comparisons and failure
// messages: every version served, every error, every conflict.
func Listing(s *registry.Snapshot) string {
	var b strings.Builder
	for _, e := range s.Entries() {
		for _, t := range e.Versions {
			fmt.Fprintf(&b, "%s %s %s %s %s stale=%v latest=%v\n", t.ID, t.Version, t.Label, t.Path, t.Digest, t.Stale, t == e.Latest)
		}
	}
	for _, e := range s.Errors() {
		fmt.Fprintf(&b, "error %s %s\n", e.Kind, e)
	}
	for _, c := range s.Conflicts() {
		fmt.Fprintf(&b, "conflict %s\n", c)
	}
	return b.String()
}
