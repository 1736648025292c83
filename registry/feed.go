package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	// VerdictChanged: the status or the cases of a task version's verdict
	// changed (its tests ran).
	VerdictChanged EventKind = "VERDICT_CHANGED"
	// ConflictRaised: a second copy of a task version appeared; Conflict
	// says where, and which copy is served. ConflictCleared: it went.
	ConflictRaised  EventKind = "CONFLICT_RAISED"
	ConflictCleared EventKind = "CONFLICT_CLEARED"
)

// Event is one change, stamped with the generation of the snapshot that
// made it. Task is the task as served after the change (before it, for
// TASK_REMOVED); Error is set for the error kinds, Conflict for the
// conflict kinds; Snapshot is the
// catalogue right after the change, so that a replayed event is shown as
// it was, not beside today's catalogue.
type Event struct {
	Snapshot   *Snapshot
	Generation int64
	Seq        int // position among the events of its generation
	Kind       EventKind
	ID         string
	Version    string
	Task       *Task
	Error      *LoadError
	Conflict   *Conflict
}

// ErrResync tells a subscriber that the events it missed are no longer
// buffered: it must re-read the catalogue and subscribe from now.
var ErrResync = errors.New("too far behind: the events since that generation are no longer buffered; re-read the catalogue and subscribe without since")

// ErrRestarted is the resync for a position from another run of the
// server: generations start again with every process, so a position from
// before a restart names other events here, and replaying from it would
// skip changes without a word. errors.Is(err, ErrResync) holds for it.
var ErrRestarted error = restarted{}

type restarted struct{}

func (restarted) Error() string {
	return "that position is from another run of the server (it restarted since): the events in between are not known here; re-read the catalogue and subscribe without since"
}

func (restarted) Is(target error) bool { return target == ErrResync }

// ErrSlow ends a subscription whose reader did not keep up.
var ErrSlow = errors.New("subscriber too slow: its buffer filled and it was dropped; resubscribe with since")

// ErrClosed is what Next returns once the subscription was closed.
var ErrClosed = errors.New("subscription closed")

// Feed fans change events out to subscribers and keeps the recent ones so
// that a client that reconnects can catch up. Every subscriber reads the
// one ring of events through its own cursor: a subscriber costs a few
// words however far back it replays, so memory is bounded by the ring
// whatever the number of subscribers.
type Feed struct {
	instance string // names this run of the server; see Resume

	mu    sync.Mutex
	buf   []Event // event number n is buf[n%len(buf)], for the last len(buf) numbers
	next  uint64  // number of the next event published
	floor int64   // every event after this generation is still in buf
	last  int64   // newest generation published
	subs  map[*Subscription]struct{}
	queue int
}

// NewFeed keeps the last capacity events for replay; each subscriber may
// lag by queue events beyond what it asked to replay before it is dropped.
func NewFeed(capacity, queue int) *Feed {
	return &Feed{instance: newInstance(), buf: make([]Event, capacity), subs: map[*Subscription]struct{}{}, queue: queue}
}

// newInstance is a name no other run of the server has: 64 random bits.
func newInstance() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails: it panics instead
	return hex.EncodeToString(b[:])
}

// Instance names this run of the server. A position in the feed (a
// generation and an event's place in it) means something only together
// with it: every position that leaves the server carries it, and a
// position that comes back with another is refused (ErrRestarted).
func (f *Feed) Instance() string { return f.instance }

// Subscription is one subscriber's cursor into the feed.
type Subscription struct {
	feed  *Feed
	pos   uint64        // number of the next event to read
	limit uint64        // unread events beyond which it is dropped
	wake  chan struct{} // poked when events are published or it ends
	err   error         // why it ended; nil while open
}

// Next returns the next event, waiting for one. It fails with ctx's error,
// ErrSlow when the subscriber was dropped, or ErrClosed after Close.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	f := s.feed
	for {
		f.mu.Lock()
		if s.err != nil {
			f.mu.Unlock()
			return Event{}, s.err
		}
		if s.pos < f.next {
			e := f.buf[s.pos%uint64(len(f.buf))]
			s.pos++
			f.mu.Unlock()
			return e, nil
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-s.wake:
		}
	}
}

// Close ends the subscription; it is safe to call more than once.
func (s *Subscription) Close() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.end(ErrClosed)
}

// end must be called with the feed locked.
func (s *Subscription) end(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	delete(s.feed.subs, s)
	s.poke()
}

func (s *Subscription) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Resume is Subscribe for a position that names the run of the server it
// came from: one from another run fails with ErrRestarted.
func (f *Feed) Resume(instance string, since int64) (*Subscription, error) {
	if instance != f.instance {
		return nil, ErrRestarted
	}
	return f.Subscribe(since)
}

// Subscribe starts a stream. With since >= 0 it first replays every
// buffered event after that generation, or fails with ErrResync when some
// are gone, or ErrRestarted when since is ahead of the newest generation
// (it can only come from another run). since < 0 means from now on.
func (f *Feed) Subscribe(since int64) (*Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &Subscription{feed: f, pos: f.next, wake: make(chan struct{}, 1)}
	if since >= 0 {
		switch {
		case since > f.last:
			return nil, fmt.Errorf("since %d is ahead of this server's generation %d: %w", since, f.last, ErrRestarted)
		case since < f.floor:
			return nil, ErrResync
		}
		for s.pos > f.oldest() && f.buf[(s.pos-1)%uint64(len(f.buf))].Generation > since {
			s.pos--
		}
	}
	s.limit = f.next - s.pos + uint64(f.queue)
	f.subs[s] = struct{}{}
	return s, nil
}

// oldest is the number of the oldest event still in the ring.
func (f *Feed) oldest() uint64 {
	if n := uint64(len(f.buf)); f.next > n {
		return f.next - n
	}
	return 0
}

// Subscribers counts the open subscriptions.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// publish never blocks: a subscriber that falls too far behind (or whose
// next event leaves the ring) is dropped, so a slow reader cannot slow
// the registry or the others.
func (f *Feed) publish(gen int64, snap *Snapshot, events []Event, swap func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if swap != nil {
		swap() // under the lock: see Registry.swap
	}
	f.last = gen
	if len(f.buf) == 0 {
		f.floor = gen
	}
	for i, e := range events {
		e.Generation, e.Seq, e.Snapshot = gen, i, snap
		if len(f.buf) > 0 {
			if f.next >= uint64(len(f.buf)) {
				f.floor = f.buf[f.next%uint64(len(f.buf))].Generation
			}
			f.buf[f.next%uint64(len(f.buf))] = e
		}
		f.next++
	}
	for s := range f.subs {
		if lag := f.next - s.pos; lag > s.limit || s.pos < f.oldest() || len(f.buf) == 0 {
			s.end(ErrSlow)
			continue
		}
		s.poke()
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
	out = append(out, conflictEvents(prev, next, ch)...)
	for k, be := range ch.errKeys {
		var id, version string
		if t := ch.errTasks[k]; t != nil {
			id, version = t.ID, t.Version
		}
		for _, e := range be[1] {
			if !slices.ContainsFunc(be[0], e.same) {
				out = append(out, Event{Kind: ErrorRaised, ID: id, Version: version, Error: e})
			}
		}
		for _, e := range be[0] {
			if !slices.ContainsFunc(be[1], e.same) {
				out = append(out, Event{Kind: ErrorCleared, ID: id, Version: version, Error: e})
			}
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(errPath(a.Error), errPath(b.Error)), cmp.Compare(errLine(a.Error), errLine(b.Error)),
			cmp.Compare(conflictPath(a.Conflict), conflictPath(b.Conflict)))
	})
	return out
}

// conflictEvents tells the conflicts of the identities touched that
// appeared and went: a copy made without a new uuid is named as such,
// not hidden in a TASK_UPDATED.
func conflictEvents(prev, next *Snapshot, ch *change) []Event {
	var out []Event
	for id := range ch.ids {
		before, _ := prev.conflicts.Get(id)
		after, _ := next.conflicts.Get(id)
		uid, version, _ := strings.Cut(id, "@")
		served, _ := next.Task(uid, version)
		for _, c := range after {
			if !slices.Contains(before, c) {
				out = append(out, Event{Kind: ConflictRaised, ID: uid, Version: version, Task: served, Conflict: &c})
			}
		}
		for _, c := range before {
			if !slices.Contains(after, c) {
				out = append(out, Event{Kind: ConflictCleared, ID: uid, Version: version, Task: served, Conflict: &c})
			}
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

func conflictPath(c *Conflict) string {
	if c == nil {
		return ""
	}
	return c.Path
}

func errLine(e *LoadError) int {
	if e == nil {
		return 0
	}
	return e.Line
}
