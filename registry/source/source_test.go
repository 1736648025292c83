package source_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/source"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFailed: a source that could not be made is named by its location
// when it has no name, fails its first load at once with why, says so
// again on each rescan, and stops with its context.
func TestFailed(t *testing.T) {
	why := errors.New("cache folder cannot be written")
	f := source.Failed(registry.SourceType("git"), "", "https://host/x.git", why)
	if f.Name() != "https://host/x.git" || f.Location() != "https://host/x.git" || f.Type() != registry.SourceType("git") {
		t.Errorf("got %s, %s, %s; want the location as the name, and git", f.Name(), f.Location(), f.Type())
	}
	var mu sync.Mutex
	var updates []registry.Update
	ctx, cancel := context.WithCancel(t.Context())
	rescan := make(chan registry.Rescan)
	done := make(chan error)
	go func() {
		done <- f.Run(ctx, func(u registry.Update) {
			mu.Lock()
			defer mu.Unlock()
			updates = append(updates, u)
		}, rescan)
	}()
	r := registry.NewRescan()
	rescan <- r
	<-r.Answered()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if len(updates) != 2 || !errors.Is(updates[0].Err, why) || !errors.Is(updates[1].Err, why) {
		t.Errorf("got updates %v, want the error twice: at once and on the rescan", updates)
	}
}

// TestChecks: the checks the kinds share name the key and the limit.
func TestChecks(t *testing.T) {
	env := func(name string) string {
		if name == "SET" {
			return "x"
		}
		return ""
	}
	tests := []struct {
		name string
		got  []source.Problem
		want string // "" for none
	}{
		{"interval 0 keeps the default", source.CheckInterval(0), ""},
		{"interval under the minimum", source.CheckInterval(10 * time.Millisecond), "interval: is 10ms: the minimum is 1s"},
		{"interval at the minimum", source.CheckInterval(time.Second), ""},
		{"a variable not set", source.CheckEnv(env, "token_env", "UNSET"), "token_env: names UNSET, which is not set"},
		{"a variable set", source.CheckEnv(env, "token_env", "SET"), ""},
		{"no variable", source.CheckEnv(env, "token_env", ""), ""},
		{"negative bytes", source.CheckBytes("max_load_bytes", -1), "max_load_bytes: is -1: want a number of bytes, or 0 for the default"},
		{"bytes 0 keep the default", source.CheckBytes("max_load_bytes", 0), ""},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range tc.got {
			got = append(got, p.Key+": "+p.Msg)
		}
		if strings.Join(got, "\n") != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
