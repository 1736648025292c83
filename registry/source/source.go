// Package source is what a kind of source offers the program that
// configures it: the kind's entry of registry.sources as the
// configuration file writes it, that entry's checks and defaults, and the
// constructor that makes the source from it. Each source package
// (fssource, httpsource, ocisource, gitsource) exports one Kind; main
// lists them in one table, the only place that names them, so that a new
// kind of source is its own package and one line there.
package source

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// A Kind is one kind of source, as the configuration's `type` names it.
type Kind struct {
	Type registry.SourceType
	// New returns an entry of the kind holding its defaults, for an entry
	// of registry.sources to be decoded into by its yaml tags (the `type`
	// key aside, which picked the kind).
	New func() Config
	// Defaults documents the entry's keys that have a default, for the
	// configuration's table of defaults.
	Defaults []Default
	// UsesCacheDir says that the kind keeps what it fetches in
	// registry.cache_dir, which must then be writable.
	UsesCacheDir bool
}

// Default is one key of an entry with its default, as the configuration
// file would write it, and what it means.
type Default struct {
	Key, Value, About string
}

// Config is one entry of registry.sources, of one kind. Zero values keep
// the kind's defaults.
type Config interface {
	// Resolve makes the entry's relative paths absolute against dir, the
	// folder of the configuration file.
	Resolve(dir string)
	// Check returns the problems of values that parse but make no sense;
	// getenv reads the variables that credentials are named by.
	Check(getenv func(string) string) []Problem
	// Shown returns the name the source is shown by and where it reads
	// from, credentials masked: what shows of a source that cannot be made.
	Shown() (name, location string)
	// Open makes the source, the order-th of the configuration, which
	// decides conflicts. It reaches no network.
	Open(order int, deps Deps) (registry.Source, error)
}

// Problem is a value of an entry that makes no sense.
type Problem struct {
	Key string // within the entry, as written: url; "" for the entry as a whole
	Msg string
}

// Deps is what the program gives every source it makes; each kind takes
// what it needs.
type Deps struct {
	Loader   *taskformat.Loader  // reads the tasks; one for every source
	Watch    watcher.Config      // how a source that follows files notices changes
	CacheDir string              // registry.cache_dir; "" for the user's cache folder
	Getenv   func(string) string // reads the variables that credentials are named by
	Log      *slog.Logger
}

// CacheDir is registry.cache_dir, or, when it is empty, ratchet-registry
// in the user's cache folder (in the temporary folder on a machine that
// has none): where the kinds that fetch keep what they fetched.
func CacheDir(dir string) string {
	if dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "ratchet-registry")
}

// Env reads the variable name through getenv, "" for no name.
func Env(getenv func(string) string, name string) string {
	if name == "" {
		return ""
	}
	return getenv(name)
}

// MinInterval is the shortest poll period a polling kind takes.
const MinInterval = time.Second

// CheckInterval checks a poll period: 0 keeps the default.
func CheckInterval(d time.Duration) []Problem {
	if d != 0 && d < MinInterval {
		return []Problem{{"interval", fmt.Sprintf("is %s: the minimum is %s", d, MinInterval)}}
	}
	return nil
}

// CheckEnv checks that the variable a credential key names is set.
func CheckEnv(getenv func(string) string, key, name string) []Problem {
	if name != "" && getenv(name) == "" {
		return []Problem{{key, fmt.Sprintf("names %s, which is not set", name)}}
	}
	return nil
}

// CheckBytes checks a budget in bytes: 0 keeps the default.
func CheckBytes(key string, n int64) []Problem {
	if n < 0 {
		return []Problem{{key, fmt.Sprintf("is %d: want a number of bytes, or 0 for the default", n)}}
	}
	return nil
}

// Failed stands for a configured source that could not be made. Its first
// load is done at once, failed with why, so that readiness does not wait
// for it and the API shows it in error; a rescan says so again.
func Failed(typ registry.SourceType, name, location string, err error) registry.Source {
	if name == "" {
		name = location
	}
	return &failed{name: name, location: location, typ: typ, err: err}
}

type failed struct {
	name, location string
	typ            registry.SourceType
	err            error
}

func (f *failed) Name() string              { return f.name }
func (f *failed) Type() registry.SourceType { return f.typ }
func (f *failed) Location() string          { return f.location }

func (f *failed) Run(ctx context.Context, apply func(registry.Update), rescan <-chan registry.Rescan) error {
	apply(registry.Update{Err: f.err})
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-rescan:
			apply(registry.Update{Err: f.err})
			r.Done()
		}
	}
}

// Polled documents the keys of a kind that polls a remote: interval,
// timeout (timeoutAbout says what it bounds) and max_load_bytes.
func Polled(interval, timeout time.Duration, timeoutAbout string, maxLoadBytes int64) []Default {
	return []Default{
		{Key: "interval", Value: interval.String(), About: "poll period, minimum " + MinInterval.String()},
		{Key: "timeout", Value: timeout.String(), About: timeoutAbout},
		{Key: "max_load_bytes", Value: strconv.FormatInt(maxLoadBytes, 10), About: fmt.Sprintf("most one load may read (%d MiB), each read counted, so that one blob or bundle listed many times counts as often; "+
			"the bundles or layers it would fetch count before they are fetched. A load over it stops, is shown on the source, and what was served stays", maxLoadBytes>>20)},
	}
}
