package registry

import (
	"fmt"
	"time"

	"github.com/benbjohnson/immutable"
	"github.com/google/uuid"
)

// Entry is one task with every version the catalogue serves.
type Entry struct {
	ID       string
	Versions []*Task // ascending SemVer precedence
	Latest   *Task
	Updated  time.Time // when any of its versions last changed in this process
}

// versionStrings lists the versions in ascending precedence.
func (e *Entry) versionStrings() []string {
	out := make([]string, len(e.Versions))
	for i, t := range e.Versions {
		out[i] = t.Version
	}
	return out
}

// Snapshot is the catalogue at one moment. It is never changed after it is
// built: readers share it without locks, and the next one is built beside
// it from persistent maps that share everything the change did not touch.
type Snapshot struct {
	Generation int64
	LoadedAt   time.Time

	tasks         *immutable.SortedMap[string, *Entry]       // by uuid
	errs          *immutable.SortedMap[string, []*LoadError] // by source position and root
	conflicts     *immutable.SortedMap[string, []Conflict]   // by identity
	byLabel       *immutable.SortedMap[string, *Entry]       // see Order
	byUpdated     *immutable.SortedMap[string, *Entry]
	verdicts      *immutable.SortedMap[string, *Verdict] // by identity
	testing       bool                                   // a runner makes verdicts: a task with tests not yet run is PENDING
	sources       []SourceStatus
	versions      int
	errCount      int
	conflictCount int
	ready         bool
	sum           contentSum // see ContentDigest; verdicts aside
	vsum          contentSum // of the verdicts, so that CatalogueDigest can leave them out
	log           changeLog  // see ChangedSince
}

func emptySnapshot() *Snapshot {
	return &Snapshot{
		tasks:     immutable.NewSortedMap[string, *Entry](nil),
		errs:      immutable.NewSortedMap[string, []*LoadError](nil),
		conflicts: immutable.NewSortedMap[string, []Conflict](nil),
		byLabel:   immutable.NewSortedMap[string, *Entry](nil),
		byUpdated: immutable.NewSortedMap[string, *Entry](nil),
		verdicts:  immutable.NewSortedMap[string, *Verdict](nil),
		log:       changeLog{lineage: new(int)},
	}
}

// TaskCount is the number of distinct tasks.
func (s *Snapshot) TaskCount() int { return s.tasks.Len() }

// VersionCount is the number of task versions served.
func (s *Snapshot) VersionCount() int { return s.versions }

// ErrorCount is the number of load errors.
func (s *Snapshot) ErrorCount() int { return s.errCount }

// ConflictCount is the number of conflicting copies.
func (s *Snapshot) ConflictCount() int { return s.conflictCount }

// Ready is true once every source has finished its first load.
func (s *Snapshot) Ready() bool { return s.ready }

// Entries lists every task in uuid order.
func (s *Snapshot) Entries() []*Entry {
	out := make([]*Entry, 0, s.tasks.Len())
	for it := s.tasks.Iterator(); !it.Done(); {
		_, e, _ := it.Next()
		out = append(out, e)
	}
	return out
}

// Latest lists the latest version of every task, in uuid order.
func (s *Snapshot) Latest() []*Task {
	out := make([]*Task, 0, s.tasks.Len())
	for it := s.tasks.Iterator(); !it.Done(); {
		_, e, _ := it.Next()
		out = append(out, e.Latest)
	}
	return out
}

// Entry finds a task by id in any of the forms a UUID is written.
func (s *Snapshot) Entry(id string) (*Entry, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, false
	}
	return s.tasks.Get(u.String())
}

// Task finds one version, or the latest when version is empty.
func (s *Snapshot) Task(id, version string) (*Task, bool) {
	e, ok := s.Entry(id)
	if !ok {
		return nil, false
	}
	if version == "" {
		return e.Latest, true
	}
	for _, t := range e.Versions {
		if t.Version == version {
			return t, true
		}
	}
	return nil, false
}

// Versions lists a task's versions in ascending precedence; empty when the
// task is unknown.
func (s *Snapshot) Versions(id string) []string {
	e, ok := s.Entry(id)
	if !ok {
		return []string{}
	}
	return e.versionStrings()
}

// Errors lists every load error: sources in configuration order, then
// task roots in lexical order.
func (s *Snapshot) Errors() []*LoadError {
	var out []*LoadError
	for it := s.errs.Iterator(); !it.Done(); {
		_, es, _ := it.Next()
		out = append(out, es...)
	}
	return out
}

// Conflicts lists every task version found more than once.
func (s *Snapshot) Conflicts() []Conflict {
	var out []Conflict
	for it := s.conflicts.Iterator(); !it.Done(); {
		_, cs, _ := it.Next()
		out = append(out, cs...)
	}
	return out
}

// Sources lists the sources in configuration order.
func (s *Snapshot) Sources() []SourceStatus { return append([]SourceStatus(nil), s.sources...) }

// errKey orders errors by source position, then root.
func errKey(order int, root string) string { return fmt.Sprintf("%06d\x00%s", order, root) }
