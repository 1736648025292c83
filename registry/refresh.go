package registry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Poll is the loop of a remote source (an HTTP index, a git repository, an
// OCI registry): load now, then again every interval, and at once when a
// rescan is asked for. After a failed load (one whose Err is set) it backs
// off instead, so that a recovered upstream is picked up soon and a dead
// one is not hammered. It returns when ctx ends; an update whose load was
// cut short by the end of ctx is not applied.
func Poll(ctx context.Context, interval time.Duration, load func(context.Context) Update, apply func(Update), rescan <-chan Rescan) error {
	failures := 0
	step := func() {
		u := load(ctx)
		if ctx.Err() != nil {
			return
		}
		apply(u)
		if u.Err != nil {
			failures++
		} else {
			failures = 0
		}
	}
	step()
	t := time.NewTimer(Backoff(interval, failures))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			step()
		case r := <-rescan:
			step()
			r.Done()
		}
		t.Reset(Backoff(interval, failures))
	}
}

// Backoff is the wait before the next load: the interval while all is well;
// after failures, exponential from 1s with ±20% jitter, up to the interval
// (at least 30s).
func Backoff(interval time.Duration, failures int) time.Duration {
	if failures == 0 {
		return interval
	}
	limit := max(interval, 30*time.Second)
	d := time.Second << min(failures-1, 20)
	d = min(d, limit)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
