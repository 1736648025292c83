package watcher

import (
	"sort"
	"time"
)

// debouncer gathers changes per group and says when each group has been
// quiet long enough, or has waited long enough, to be sent.
type debouncer struct {
	quiet, maxWait time.Duration
	group          func(string) string
	pending        map[string]*pendingGroup
	full           *pendingGroup // a full rescan is due; it covers every path
	fullReason     string
}

type pendingGroup struct {
	paths       map[string]struct{}
	first, last time.Time
}

func newDebouncer(cfg Config) *debouncer {
	return &debouncer{quiet: cfg.Debounce, maxWait: cfg.MaxWait, group: cfg.Group, pending: map[string]*pendingGroup{}}
}

func (d *debouncer) touch(g *pendingGroup, now time.Time) {
	if g.first.IsZero() {
		g.first = now
	}
	g.last = now
}

// add records a changed path; each change restarts its group's quiet window.
func (d *debouncer) add(path string, now time.Time) {
	key := d.group(path)
	g := d.pending[key]
	if g == nil {
		g = &pendingGroup{paths: map[string]struct{}{}}
		d.pending[key] = g
	}
	g.paths[path] = struct{}{}
	d.touch(g, now)
}

// addFull asks for a full rescan once things are quiet.
func (d *debouncer) addFull(reason string, now time.Time) {
	if d.full == nil {
		d.full = &pendingGroup{}
		d.fullReason = reason
	}
	d.touch(d.full, now)
}

func (d *debouncer) due(g *pendingGroup) time.Time {
	return minTime(g.last.Add(d.quiet), g.first.Add(d.maxWait))
}

// next is when the earliest group falls due; false when nothing is pending.
func (d *debouncer) next() (time.Time, bool) {
	var at time.Time
	found := false
	consider := func(g *pendingGroup) {
		if t := d.due(g); !found || t.Before(at) {
			at, found = t, true
		}
	}
	if d.full != nil {
		consider(d.full)
	}
	for _, g := range d.pending {
		consider(g)
	}
	return at, found
}

// take removes the groups that are due at now and returns them as a batch.
func (d *debouncer) take(now time.Time) (Batch, bool) {
	if d.full != nil && !now.Before(d.due(d.full)) {
		first := d.full.first
		for _, g := range d.pending {
			first = minTime(first, g.first)
		}
		b := Batch{Full: true, Reason: d.fullReason, First: first}
		d.full, d.pending = nil, map[string]*pendingGroup{}
		return b, true
	}
	var b Batch
	for key, g := range d.pending {
		if now.Before(d.due(g)) {
			continue
		}
		for p := range g.paths {
			b.Paths = append(b.Paths, p)
		}
		if b.First.IsZero() || g.first.Before(b.First) {
			b.First = g.first
		}
		delete(d.pending, key)
	}
	if len(b.Paths) == 0 {
		return Batch{}, false
	}
	sort.Strings(b.Paths)
	return b, true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
