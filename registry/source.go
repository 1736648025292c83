package registry

import (
	"context"
	"time"
)

// SourceType names a kind of source, as configured and as the API shows it.
type SourceType string

// Source is where tasks come from. Each kind lives in its own package and
// owns its own loop: a watcher, a poll schedule, a back-off.
type Source interface {
	Name() string
	Type() SourceType
	// Location is the path or URL as shown to users, credentials masked.
	Location() string
	// Run loads the source, then keeps it current until ctx ends, handing
	// each update to apply, never concurrently. Its first update is the
	// complete first load. A Rescan received asks for a complete load now;
	// the source calls its Done once that load's update is applied (or
	// when ctx ends first). Run returns nil when ctx ends, and an error
	// only when it cannot keep the source current any more.
	Run(ctx context.Context, apply func(Update), rescan <-chan Rescan) error
}

// Rescan asks a source for a complete load now. Done tells the asker that
// the load's update is applied: the next snapshot shows it.
type Rescan struct{ done chan struct{} }

// NewRescan makes a request; Wait returns once it is done.
func NewRescan() Rescan { return Rescan{done: make(chan struct{})} }

// Done marks the request answered. Call it exactly once.
func (r Rescan) Done() { close(r.done) }

// Answered is closed once Done has been called.
func (r Rescan) Answered() <-chan struct{} { return r.done }

// RootResult is what one task root held at the moment it was read: a task,
// or the errors that kept it from loading.
type RootResult struct {
	Root   string
	Task   *Task
	Errors []*LoadError
}

// Update is one step in a source's life, applied by Registry.Apply.
type Update struct {
	// Source is the position returned by Registry.AddSource; the Service
	// fills it in, so that sources need not know it.
	Source int
	// Complete says that Results are everything the source holds: roots
	// not listed are gone. An incomplete update changes only the roots it
	// lists in Results and Removed.
	Complete bool
	Results  []RootResult
	Removed  []string
	// Err is a failure of the source as a whole (its folder is missing,
	// its index cannot be fetched), shown as a load error on the source.
	// When the update is not Complete, what the source served stays.
	// nil clears an earlier failure.
	Err error
	// Started is when the load began; Seen when the first change that it
	// shows was noticed (zero when none was), for save-to-visible metrics.
	Started time.Time
	Seen    time.Time
	// Revision is what the results come from: the commit (git) or the
	// manifest digest (OCI). Empty keeps the one shown before.
	Revision string
}

// Live is the optional interface of a source whose state moves between
// loads, with no new snapshot: one that follows files on disk. The
// registry reads it whenever it is shown (SourceStatus.Watch), so that
// the API and the metrics serve it like any other field of the source,
// and nothing above the sources needs to know which kind it is.
type Live interface {
	// Watch is how the source follows its files now.
	Watch() WatchStatus
	// Watching is closed once the source follows every folder it holds.
	Watching() <-chan struct{}
}

// SourceStatus is a source as the API shows it.
type SourceStatus struct {
	Name      string
	Type      SourceType
	Location  string
	Status    string // "loading", "ok", "degraded" (failing, still serving what it had) or "error"
	Error     string
	TaskCount int
	LoadedAt  time.Time // last successful load; zero before
	Revision  string    // the commit (git) or manifest digest (OCI) served; "" for other sources
	live      Live      // nil for a source without a live state
}

// Watch is how the source follows its files now; false for a source that
// has no files to follow (HTTP, git, OCI).
func (s SourceStatus) Watch() (WatchStatus, bool) {
	if s.live == nil {
		return WatchStatus{}, false
	}
	return s.live.Watch(), true
}

// Watching is closed once the source follows everything it holds: at
// once for a source that follows nothing.
func (s SourceStatus) Watching() <-chan struct{} {
	if s.live == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return s.live.Watching()
}

// WatchStatus is how a source that follows files on disk does it now.
type WatchStatus struct {
	// Mode is the mode in force, after any fallback: fsnotify, poll or off.
	Mode string
	// Watches is the number of folders watched through inotify.
	Watches int
	// Polled is the number of folders polled: every folder in poll mode,
	// and in fsnotify mode those past the inotify limit.
	Polled int
	// PollRound is how long the last round of the polled folders took:
	// the longest a save in a folder unchanged for a while waits. 0
	// before a round is done, and with nothing polled.
	PollRound time.Duration
}

// Status values.
const (
	StatusLoading  = "loading"
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusError    = "error"
)
