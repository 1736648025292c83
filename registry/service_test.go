package registry_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

// scriptedSource applies its updates in order, closes applied, then waits
// for the end.
type scriptedSource struct {
	sourcetest.Named
	updates []registry.Update
	applied chan struct{}
}

func (s scriptedSource) Run(ctx context.Context, apply func(registry.Update), _ <-chan registry.Rescan) error {
	for _, u := range s.updates {
		apply(u)
	}
	close(s.applied)
	<-ctx.Done()
	return nil
}

// TestServiceLogsAnOutageOnce: a source that fails on every retry of one
// outage is a warning when the outage starts and one line when it ends,
// with how long it lasted; the retries between are at debug level, and
// its failure is not logged a second time as a load error.
func TestServiceLogsAnOutageOnce(t *testing.T) {
	down := errors.New("connection refused")
	src := scriptedSource{Named: "central", updates: []registry.Update{
		{Complete: true, Err: down}, {Complete: true, Err: down}, {Complete: true, Err: errors.New("timeout")},
		{Complete: true}, {Complete: true},
		{Complete: true, Err: down}, {Complete: true},
	}, applied: make(chan struct{})}
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "after" || a.Key == "since" {
			return slog.Attr{}
		}
		return a
	}}))
	svc := registry.NewService(registry.New(time.Now, registry.NewFeed(16, 16)), log, registry.Hooks{})
	svc.Add(src)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-src.applied: // every update applied, and so logged
	case <-time.After(10 * time.Second):
		t.Error("the updates were not applied")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if strings.Contains(line, "source") && !strings.Contains(line, `msg=loaded`) {
			got = append(got, line)
		}
	}
	want := []string{
		`level=WARN msg="source failed" source=central location=central error="connection refused"`,
		`level=DEBUG msg="source still failing" source=central error="connection refused" attempts=2`,
		`level=DEBUG msg="source still failing" source=central error=timeout attempts=3`,
		`level=INFO msg="source recovered" source=central failed_attempts=3`,
		`level=WARN msg="source failed" source=central location=central error="connection refused"`,
		`level=INFO msg="source recovered" source=central failed_attempts=1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
