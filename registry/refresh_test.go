package registry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	if got := nextLoad(10*time.Second, 0); got != 10*time.Second {
		t.Errorf("got %s with no failures, want the interval", got)
	}
	prev := time.Duration(0)
	for f := 1; f <= 8; f++ {
		d := nextLoad(10*time.Second, f)
		base := min(time.Second<<(f-1), 30*time.Second)
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("failure %d: got %s, want %s ±20%%", f, d, base)
		}
		prev = d
	}
	if prev > 36*time.Second {
		t.Errorf("backoff passed its cap: %s", prev)
	}
	// A first wait so long that doubling it twenty times would overflow
	// still stops at the cap.
	if d := Backoff(3*time.Hour, time.Hour, 30); d < 48*time.Minute || d > 72*time.Minute {
		t.Errorf("got %s, want an hour ±20%%", d)
	}
}

// TestPollRescan: a rescan asked of a polled source loads it at once, and
// is answered only once its update is applied.
func TestPollRescan(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	loads := 0
	var applied []Update
	rescan := make(chan Rescan)
	done := make(chan error)
	go func() {
		done <- Poll(ctx, time.Hour, func(context.Context) Update {
			loads++
			if loads == 1 {
				return Update{Err: errors.New("down")}
			}
			return Update{Complete: true}
		}, func(u Update) { applied = append(applied, u) }, rescan)
	}()
	r := NewRescan()
	rescan <- r // the first load is done before a rescan is taken
	<-r.Answered()
	if loads != 2 || len(applied) != 2 || applied[0].Err == nil || !applied[1].Complete {
		t.Errorf("got %d loads, applied %+v; want the failed first load, then the rescan's", loads, applied)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("got %v when ctx ended, want nil", err)
	}
}
