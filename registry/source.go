package registry

import (
	"context"
)

// Source is where tasks come from: a filesystem path or an HTTP index.
type Source interface {
	Name() string
	Type() string     // "filesystem" or "http"
	Location() string // the path or URL as configured
	// Scan loads everything the source holds. An error means the source
	// as a whole could not be read; what it served before stays.
	Scan(ctx context.Context) ([]RootResult, error)
}

// RootResult is what one task root held at the moment it was read: a task,
// or the errors that kept it from loading.
type RootResult struct {
	Root   string
	Task   *Task
	Errors []*LoadError
}

// Update is one step in a source's life, applied by Registry.Apply.
type Update struct {
	Source  int  // index returned by Registry.AddSource
	Full    bool // Results are everything the source holds; other roots are gone
	Results []RootResult
	Removed []string // roots that are gone (incremental updates)
	Err     error    // the source as a whole failed; nil clears an earlier failure
}

// SourceStatus is a source as the API shows it.
type SourceStatus struct {
	Name      string
	Type      string
	Location  string
	Status    string // "loading", "ok", "degraded" (failing, still serving what it had) or "error"
	Error     string
	TaskCount int
	LoadedAt  int64 // unix nanoseconds of the last successful load, 0 before
}

// Status values.
const (
	StatusLoading  = "loading"
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusError    = "error"
)

// PartialError is a source that loaded, but not all of it: the results
// are complete (what failed is in them as errors), and the source is
// degraded.
type PartialError struct{ Err error }

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// FallbackError is a source that failed as a whole but still gives
// complete results: nothing, for a folder that is not there (its tasks go
// with their files); the index saved at the last success, for an HTTP
// source that cannot reach its upstream after a restart. The failure is
// shown as a load error of the source.
type FallbackError struct{ Err error }

func (e *FallbackError) Error() string { return e.Err.Error() }
func (e *FallbackError) Unwrap() error { return e.Err }
