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
	t := time.NewTimer(nextLoad(interval, failures))
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
		t.Reset(nextLoad(interval, failures))
	}
}

// nextLoad is the wait before the next load: the interval while all is
// well; after failures, the back-off from 1s up to the interval (at least
// 30s).
func nextLoad(interval time.Duration, failures int) time.Duration {
	if failures == 0 {
		return interval
	}
	return Backoff(time.Second, max(interval, 30*time.Second), failures)
}

// Backoff is how long to wait after failures (one or more) in a row: first,
// doubled at each failure after the first, up to most, with ±20% jitter so
// that many waits begun together do not end together. The polled sources
// and the HTTP source's failed bundles share it.
func Backoff(first, most time.Duration, failures int) time.Duration {
	d := most
	if shift := min(max(failures-1, 0), 20); first <= most>>shift {
		d = first << shift
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
