package registry

import (
	"errors"
	"testing"
)

func TestFeedReplay(t *testing.T) {
	f := NewFeed(4, 8)
	for g := int64(1); g <= 3; g++ {
		f.publish(g, []Event{{Kind: TaskAdded, ID: "a"}, {Kind: TaskUpdated, ID: "b"}})
	}
	// Buffer of 4 holds generation 2 and 3 whole: since=1 replays them.
	tests := []struct {
		since   int64
		want    []int64
		wantErr error
	}{
		{1, []int64{2, 2, 3, 3}, nil},
		{2, []int64{3, 3}, nil},
		{3, nil, nil},
		{0, nil, ErrResync}, // generation 1 is gone
		{4, nil, ErrResync}, // from the future: another process's generations
		{-1, nil, nil},
	}
	for _, tc := range tests {
		s, err := f.Subscribe(tc.since)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("since %d: got %v, want %v", tc.since, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		var got []int64
		for len(s.Events()) > 0 {
			got = append(got, (<-s.Events()).Generation)
		}
		if len(got) != len(tc.want) {
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
	f := NewFeed(16, 2)
	slow, _ := f.Subscribe(-1)
	fast, _ := f.Subscribe(-1)
	for g := int64(1); g <= 5; g++ {
		f.publish(g, []Event{{Kind: TaskAdded}})
		<-fast.Events()
	}
	n := 0
	for range slow.Events() {
		n++
	}
	if n != 2 || !errors.Is(slow.Err(), ErrSlow) {
		t.Errorf("slow got %d events and %v, want 2 and ErrSlow", n, slow.Err())
	}
	if f.Subscribers() != 1 {
		t.Errorf("got %d subscribers, want the fast one", f.Subscribers())
	}
	fast.Close()
	fast.Close() // twice is fine
	if _, ok := <-fast.Events(); ok || fast.Err() != nil {
		t.Errorf("closed subscription: want a closed channel and no error")
	}
}
