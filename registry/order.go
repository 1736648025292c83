package registry

import (
	"fmt"
	"strings"

	"github.com/benbjohnson/immutable"
)

// Order is an order in which the tasks of a snapshot can be walked. Each
// is an index kept in the snapshot, so that a walk starts at any key in
// logarithmic time and a page costs its size, not the catalogue's.
type Order int

// The orders of tasks.
const (
	ByID      Order = iota // by uuid
	ByLabel                // by the latest version's label, case folded, then uuid
	ByUpdated              // by when the task last changed in this process, then uuid
)

// Key is where an entry sits in order o, as Walk gives it. Keys end with
// the uuid, so they are unique and a key names one place even after that
// entry moved.
func (o Order) Key(e *Entry) string {
	switch o {
	case ByLabel:
		return strings.ToLower(e.Latest.Label) + "\x00" + e.ID
	case ByUpdated:
		return fmt.Sprintf("%020d\x00%s", e.Updated.UnixNano(), e.ID)
	}
	return e.ID
}

// reindex moves one task in the orders: old is what was served before
// (nil when new), e what is served now (nil when gone). e's update time
// is this snapshot's.
func (s *Snapshot) reindex(old, e *Entry) {
	if e != nil {
		e.Updated = s.LoadedAt
	}
	for _, o := range []Order{ByLabel, ByUpdated} {
		m := s.index(o)
		if old != nil {
			m = m.Delete(o.Key(old))
		}
		if e != nil {
			m = m.Set(o.Key(e), e)
		}
		if o == ByLabel {
			s.byLabel = m
		} else {
			s.byUpdated = m
		}
	}
}

func (s *Snapshot) index(o Order) *immutable.SortedMap[string, *Entry] {
	switch o {
	case ByLabel:
		return s.byLabel
	case ByUpdated:
		return s.byUpdated
	}
	return s.tasks
}

// Walk calls fn with each task and its key in order o (descending when
// desc), starting after the key after (from the start when it is empty),
// until fn returns false. A key from an earlier snapshot is a valid
// start: the walk goes on from where that key would sit now.
func (s *Snapshot) Walk(o Order, desc bool, after string, fn func(key string, e *Entry) bool) {
	WalkSorted(s.index(o), desc, after, fn)
}

// WalkSorted is Walk over a map of entries by their keys in one order, such
// as a reader's own subset of an index.
func WalkSorted(m *immutable.SortedMap[string, *Entry], desc bool, after string, fn func(key string, e *Entry) bool) {
	if m == nil {
		return
	}
	it := m.Iterator()
	step := it.Next
	switch {
	case desc:
		step = it.Prev
		if after == "" {
			it.Last()
			break
		}
		it.Seek(after)
		if it.Done() {
			it.Last()
		}
	case after != "":
		it.Seek(after)
	}
	for {
		k, e, ok := step()
		if !ok {
			return
		}
		if after != "" && ((!desc && k <= after) || (desc && k >= after)) {
			continue
		}
		if !fn(k, e) {
			return
		}
	}
}
