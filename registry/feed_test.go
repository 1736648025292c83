package registry

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFeedReplay(t *testing.T) {
	f := NewFeed(4, 8)
	for g := int64(1); g <= 3; g++ {
		f.publish(g, nil, []Event{{Kind: TaskAdded, ID: "a"}, {Kind: TaskUpdated, ID: "b"}}, nil)
	}
	// Buffer of 4 holds generation 2 and 3 whole: since=1 replays them.
	tests := []struct {
		since    int64
		instance string // "": Subscribe; "self": Resume with the feed's own
		want     []int64
		wantErr  error
	}{
		{1, "", []int64{2, 2, 3, 3}, nil},
		{2, "", []int64{3, 3}, nil},
		{3, "", nil, nil},
		{0, "", nil, ErrResync},    // generation 1 is gone
		{4, "", nil, ErrRestarted}, // from the future: another process's generations
		{-1, "", nil, nil},
		{2, "self", []int64{3, 3}, nil},
		{0, "self", nil, ErrResync},
		{2, NewFeed(4, 8).Instance(), nil, ErrRestarted}, // another run's generation 2
	}
	for _, tc := range tests {
		var s *Subscription
		var err error
		switch tc.instance {
		case "":
			s, err = f.Subscribe(tc.since)
		case "self":
			s, err = f.Resume(f.Instance(), tc.since)
		default:
			s, err = f.Resume(tc.instance, tc.since)
		}
		if !errors.Is(err, tc.wantErr) || (err != nil && !errors.Is(err, ErrResync)) {
			t.Errorf("since %d: got %v, want %v", tc.since, err, tc.wantErr)
			continue
		}
		if errors.Is(err, ErrRestarted) && strings.Contains(err.Error(), "too far behind") {
			t.Errorf("since %d: got %q, want it to say the server restarted", tc.since, err)
		}
		if err != nil {
			continue
		}
		var got []int64
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			e, err := s.Next(ctx)
			cancel()
			if err != nil {
				break
			}
			got = append(got, e.Generation)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("since %d: got %v, want %v", tc.since, got, tc.want)
		}
		s.Close()
	}
	if f.Subscribers() != 0 {
		t.Errorf("got %d subscribers after closing all", f.Subscribers())
	}
}

// TestFeedSlowSubscriber: one reader stops reading; it is dropped and the
// other one gets everything.
func TestFeedSlowSubscriber(t *testing.T) {
	ctx := context.Background()
	f := NewFeed(16, 2)
	slow, _ := f.Subscribe(-1)
	fast, _ := f.Subscribe(-1)
	for g := int64(1); g <= 5; g++ {
		f.publish(g, nil, []Event{{Kind: TaskAdded}}, nil)
		if e, err := fast.Next(ctx); err != nil || e.Generation != g {
			t.Fatalf("fast: got %v, %v, want generation %d", e.Generation, err, g)
		}
	}
	if _, err := slow.Next(ctx); !errors.Is(err, ErrSlow) {
		t.Errorf("slow: got %v, want ErrSlow", err)
	}
	if f.Subscribers() != 1 {
		t.Errorf("got %d subscribers, want the fast one", f.Subscribers())
	}
	fast.Close()
	fast.Close() // twice is fine
	if _, err := fast.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("closed subscription: got %v, want ErrClosed", err)
	}
}

// TestFeedReplayIsShared: many subscribers replaying the whole ring hold
// no copy of it: the heap grows by a few words per subscriber, not by the
// ring's size.
func TestFeedReplayIsShared(t *testing.T) {
	const ring, subs = 4096, 1000
	f := NewFeed(ring, 256)
	for g := int64(1); g <= ring; g++ {
		f.publish(g, nil, []Event{{Kind: TaskUpdated, ID: "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", Version: "1.0.0"}}, nil)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	all := make([]*Subscription, 0, subs)
	for range subs {
		s, err := f.Subscribe(1)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSub := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / subs
	// A copy of the replay would be ring × sizeof(Event) (over 400 KB).
	if limit := int64(1024); perSub > limit {
		t.Errorf("got %d bytes of heap per replaying subscriber, want under %d", perSub, limit)
	}
	for _, s := range all {
		if e, err := s.Next(context.Background()); err != nil || e.Generation != 2 {
			t.Fatalf("got %v, %v, want the event of generation 2 first", e.Generation, err)
		}
		s.Close()
	}
}
