package registry

import "slices"

// A reader that computed something from every task of a snapshot (the
// tasks a filter matches, in order) can bring it up to date for a later
// snapshot at the cost of what changed in between, if it knows which
// tasks changed: each snapshot lists the tasks that the last swaps
// replaced, within a bound, as Touched does for the runner.

// changeLog is what recent swaps changed, oldest first. It is copied, never
// changed, as the snapshot that holds it.
type changeLog struct {
	lineage *int  // the registry: generations of two registries mean nothing to each other
	floor   int64 // every task replaced after this generation is listed
	recs    []changeRec
	n       int // uuids listed over all recs
}

type changeRec struct {
	gen   int64
	uuids []string
}

// with adds the uuids that generation gen replaced, forgetting the oldest
// generations while more than maxTouched uuids are listed.
func (l changeLog) with(gen int64, uuids []string) changeLog {
	if len(uuids) == 0 {
		return l
	}
	out := changeLog{lineage: l.lineage, floor: l.floor, n: l.n + len(uuids)}
	recs := l.recs
	for len(recs) > 0 && out.n > maxTouched {
		out.floor = recs[0].gen
		out.n -= len(recs[0].uuids)
		recs = recs[1:]
	}
	if out.n > maxTouched {
		return changeLog{lineage: l.lineage, floor: gen}
	}
	out.recs = append(slices.Clone(recs), changeRec{gen: gen, uuids: uuids})
	return out
}

// ChangedSince lists the uuids of the tasks whose entries differ between
// old and s (added, changed or removed; perhaps more, never fewer, and
// perhaps more than once), when s is old or came after it in the same
// registry within the last swaps that changed up to 16,384 tasks. ok is
// false otherwise: then the whole catalogue must be looked at.
func (s *Snapshot) ChangedSince(old *Snapshot) (uuids []string, ok bool) {
	l := s.log
	if old == nil || l.lineage == nil || old.log.lineage != l.lineage || old.Generation > s.Generation || old.Generation < l.floor {
		return nil, false
	}
	for _, r := range l.recs {
		if r.gen > old.Generation {
			uuids = append(uuids, r.uuids...)
		}
	}
	return uuids, true
}
