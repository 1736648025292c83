package registry

import (
	"context"
	"time"
)

// polled is a source that is re-read on a schedule rather than watched.
type polled interface {
	Source
	// NextPoll is how long to wait before the next load, given how many
	// loads in a row have failed: the interval, or a backoff.
	NextPoll(failures int) time.Duration
}

// poll re-reads a source on its schedule until ctx ends.
func (s *Service) poll(ctx context.Context, ss *serviceSource, src polled) {
	failures := 0
	if st := s.reg.Snapshot().Sources()[ss.idx]; st.Status == StatusError || st.Status == StatusDegraded {
		failures = 1
	}
	t := time.NewTimer(src.NextPoll(failures))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.scan(ctx, ss, time.Time{})
		if st := s.reg.Snapshot().Sources()[ss.idx]; st.Status == StatusError || st.Status == StatusDegraded {
			failures++
		} else {
			failures = 0
		}
		t.Reset(src.NextPoll(failures))
	}
}
