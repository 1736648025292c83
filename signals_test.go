package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunStoppable: once stopping is asked for, the program has
// stopDeadline to finish; one that is stuck past it (a goroutine that
// never looks at its context) ends with exit 1 and a line that says why,
// instead of ignoring SIGTERM for ever. One that stops in time keeps its
// own exit code.
func TestRunStoppable(t *testing.T) {
	tests := []struct {
		name     string
		signaled bool
		f        func(ctx context.Context, release <-chan struct{}) int
		want     int
		says     string
	}{
		{"ends on its own", false, func(context.Context, <-chan struct{}) int { return 3 }, 3, ""},
		{"stops when told", true, func(ctx context.Context, _ <-chan struct{}) int { <-ctx.Done(); return 0 }, 0, ""},
		{"stuck", true, func(_ context.Context, release <-chan struct{}) int { <-release; return 0 }, 1, "still stopping 50ms after the signal: exiting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.signaled {
				cancel()
			}
			release := make(chan struct{})
			finished := make(chan struct{})
			t.Cleanup(func() {
				close(release)
				<-finished // no goroutine left behind
			})
			var stderr strings.Builder
			got := runStoppable(ctx, 50*time.Millisecond, &stderr, func(ctx context.Context) int {
				defer close(finished)
				return tc.f(ctx, release)
			})
			if got != tc.want || !strings.Contains(stderr.String(), tc.says) {
				t.Errorf("got exit %d and %q, want %d and %q", got, stderr.String(), tc.want, tc.says)
			}
		})
	}
}
