package registry

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"sync"
)

// EventKind says what happened to a task or an error.
type EventKind string

// The kinds of change event; part of the GraphQL API.
const (
	TaskAdded    EventKind = "TASK_ADDED"
	TaskUpdated  EventKind = "TASK_UPDATED"
	TaskRemoved  EventKind = "TASK_REMOVED"
	ErrorRaised  EventKind = "ERROR_RAISED"
	ErrorCleared EventKind = "ERROR_CLEARED"
)

// Event is one change, stamped with the generation of the snapshot that
// made it. Task is the task as served after the change (before it, for
// TASK_REMOVED); Error is set for the error kinds.
type Event struct {
	Generation int64
	Seq        int // position among the events of its generation
	Kind       EventKind
	ID         string
	Version    string
	Task       *Task
	Error      *LoadError
}

// ErrResync tells a subscriber that the events it missed are no longer
// buffered: it must re-read the catalogue and subscribe from now.
var ErrResync = errors.New("too far behind: the events since that generation are no longer buffered; re-read the catalogue and subscribe without since")

// ErrSlow ends a subscription whose reader did not keep up.
var ErrSlow = errors.New("subscriber too slow: its buffer filled and it was dropped; resubscribe with since")

// Feed fans change events out to subscribers and keeps the recent ones so
// that a client that reconnects can catch up.
type Feed struct {
	mu    sync.Mutex
	buf   []Event // ring of the latest events, oldest first after wrapping
	start int
	n     int
	floor int64 // every event after this generation is still in buf
	last  int64 // newest generation published
	subs  map[*Subscription]struct{}
	queue int
}

// NewFeed keeps the last capacity events for replay; each subscriber may
// lag by queue events before it is dropped.
func NewFeed(capacity, queue int) *Feed {
	return &Feed{buf: make([]Event, capacity), subs: map[*Subscription]struct{}{}, queue: queue}
}

// Subscription is one subscriber's stream of events.
type Subscription struct {
	feed *Feed
	ch   chan Event
	err  error // set before ch is closed by the feed
	once sync.Once
}

// Events is closed when the subscription ends; Err then says why.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Err is nil after Close, ErrSlow when the subscriber was dropped.
func (s *Subscription) Err() error {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return s.err
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.end(nil)
}

// end must be called with the feed locked.
func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.err = err
		delete(s.feed.subs, s)
		close(s.ch)
	})
}

// Subscribe starts a stream. With since >= 0 it first replays every
// buffered event after that generation, or fails with ErrResync when some
// are gone. since < 0 means from now on.
func (f *Feed) Subscribe(since int64) (*Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var replay []Event
	if since >= 0 {
		if since < f.floor || since > f.last {
			return nil, ErrResync
		}
		for i := 0; i < f.n; i++ {
			e := f.buf[(f.start+i)%len(f.buf)]
			if e.Generation > since {
				replay = append(replay, e)
			}
		}
	}
	s := &Subscription{feed: f, ch: make(chan Event, f.queue+len(replay))}
	for _, e := range replay {
		s.ch <- e
	}
	f.subs[s] = struct{}{}
	return s, nil
}

// Generation is the newest generation the feed has seen.
func (f *Feed) Generation() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// Subscribers counts the open subscriptions.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// publish never blocks: a subscriber whose queue is full is dropped, so a
// slow reader cannot slow the registry or the others.
func (f *Feed) publish(gen int64, events []Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = gen
	if len(f.buf) == 0 {
		f.floor = gen
	}
	for i, e := range events {
		e.Generation, e.Seq = gen, i
		if len(f.buf) > 0 {
			if f.n == len(f.buf) {
				f.floor = f.buf[f.start].Generation
				f.buf[f.start] = e
				f.start = (f.start + 1) % len(f.buf)
			} else {
				f.buf[(f.start+f.n)%len(f.buf)] = e
				f.n++
			}
		}
		for s := range f.subs {
			select {
			case s.ch <- e:
			default:
				s.end(ErrSlow)
			}
		}
	}
}

// diffEvents lists what changed between two snapshots, looking only at
// what the update touched.
func diffEvents(prev, next *Snapshot, ch *change) []Event {
	var out []Event
	for id := range ch.ids {
		uid, version, _ := strings.Cut(id, "@")
		t := &Task{ID: uid, Version: version}
		before, _ := prev.Task(uid, version)
		after, _ := next.Task(uid, version)
		switch {
		case before == nil && after != nil:
			out = append(out, Event{Kind: TaskAdded, ID: t.ID, Version: t.Version, Task: after})
		case before != nil && after == nil:
			out = append(out, Event{Kind: TaskRemoved, ID: t.ID, Version: t.Version, Task: before})
		case before != nil && !before.sameAs(after):
			out = append(out, Event{Kind: TaskUpdated, ID: t.ID, Version: t.Version, Task: after})
		}
	}
	for _, be := range ch.errKeys {
		for _, e := range be[1] {
			if !slices.ContainsFunc(be[0], e.same) {
				out = append(out, Event{Kind: ErrorRaised, Error: e})
			}
		}
		for _, e := range be[0] {
			if !slices.ContainsFunc(be[1], e.same) {
				out = append(out, Event{Kind: ErrorCleared, Error: e})
			}
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(errPath(a.Error), errPath(b.Error)), cmp.Compare(errLine(a.Error), errLine(b.Error)))
	})
	for i := range out {
		if out[i].Error != nil {
			out[i].ID, out[i].Version = "", ""
		}
	}
	return out
}

func errPath(e *LoadError) string {
	if e == nil {
		return ""
	}
	return e.Path
}

func errLine(e *LoadError) int {
	if e == nil {
		return 0
	}
	return e.Line
}
