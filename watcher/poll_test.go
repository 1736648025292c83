package watcher

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// recorder keeps what a poller reports.
type recorder struct{ paths, in, out []string }

func (r *recorder) changed(p string)  { r.paths = append(r.paths, p) }
func (r *recorder) appeared(p string) { r.in = append(r.in, p) }
func (r *recorder) gone(p string)     { r.out = append(r.out, p) }

// pollerOf polls every folder of dir, as poll mode would.
func pollerOf(t *testing.T, dir string, budget time.Duration) *poller {
	t.Helper()
	p := newPoller(time.Second)
	p.budget = budget
	p.batch = 1 // one folder at a time, so that tests can count them
	for _, d := range walk(dir) {
		p.add(d.path, d.state, d.entries, false, time.Now())
	}
	return p
}

// age sets the times of everything under dir.
func age(t *testing.T, dir string, at time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, at, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// touch rewrites a file in place to the same size, with a time that
// cannot equal the last one: only its stat tells the change.
func touch(t *testing.T, p string, at time.Time) {
	t.Helper()
	write(t, p, "y")
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

// TestPollSpread: with no time to spare, a tick checks one folder of the
// round, so a change in the last folder is found on the round's last
// tick; from then on that folder is hot, checked at every tick.
func TestPollSpread(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		write(t, filepath.Join(dir, fmt.Sprintf("t%d", i), "main.js"), "x")
	}
	age(t, dir, time.Now().Add(-time.Hour)) // nothing is hot at the start
	p := pollerOf(t, dir, 0)
	if p.len() != 11 {
		t.Fatalf("polling %d folders, want 11", p.len())
	}
	target := filepath.Join(dir, "t9", "main.js")
	touch(t, target, time.Now().Add(time.Minute))
	var r recorder
	now := time.Now()
	ticks := 0
	for !slices.Contains(r.paths, target) {
		if ticks++; ticks > 11 {
			t.Fatalf("not found in %d ticks", ticks)
		}
		p.tick(now, &r)
	}
	if ticks != 11 {
		t.Errorf("found at tick %d, want 11: one folder a tick, the root first", ticks)
	}
	r = recorder{}
	touch(t, target, time.Now().Add(2*time.Minute))
	p.tick(now, &r)
	if !slices.Contains(r.paths, target) {
		t.Errorf("a hot folder was not checked at the next tick: got %v", r.paths)
	}
	// Once it has been quiet for hotFor, it goes back to the round.
	r = recorder{}
	touch(t, target, time.Now().Add(3*time.Minute))
	p.tick(now.Add(2*p.hotFor), &r)
	if slices.Contains(r.paths, target) {
		t.Errorf("a folder quiet for long was still checked at every tick")
	}
}

// TestPollChanges: what a check of a folder finds, by stat alone.
func TestPollChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a", "main.js"), "x")
	write(t, filepath.Join(dir, "a", "tests", "t.json"), "{}")
	write(t, filepath.Join(dir, "b", "main.js"), "x")
	later := time.Now().Add(time.Minute)
	tests := []struct {
		name                    string
		change                  func(t *testing.T)
		changed, appeared, gone []string
	}{
		{"write in place", func(t *testing.T) { touch(t, filepath.Join(dir, "a", "main.js"), later) },
			[]string{"a/main.js"}, nil, nil},
		{"new file", func(t *testing.T) { write(t, filepath.Join(dir, "a", "input.schema.json"), "{}") },
			[]string{"a/input.schema.json"}, nil, nil},
		{"new folder", func(t *testing.T) { write(t, filepath.Join(dir, "c", "main.js"), "x") },
			[]string{"c"}, []string{"c"}, nil},
		{"hidden and scratch files", func(t *testing.T) {
			write(t, filepath.Join(dir, "b", ".main.js.swp"), "x")
			write(t, filepath.Join(dir, "b", "main.js~"), "x")
		}, nil, nil, nil},
		// Once by its parent's listing, once by its own check.
		{"folder removed", func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "a", "tests")); err != nil {
				t.Fatal(err)
			}
		}, []string{"a/tests", "a/tests"}, nil, []string{"a/tests", "a/tests"}},
	}
	p := pollerOf(t, dir, time.Hour)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.change(t)
			var r recorder
			p.tick(time.Now(), &r)
			rel := func(ps []string) []string {
				var out []string
				for _, q := range ps {
					q, _ = filepath.Rel(dir, q)
					out = append(out, q)
				}
				slices.Sort(out)
				return out
			}
			if got := rel(r.paths); !slices.Equal(got, tc.changed) {
				t.Errorf("changed %v, want %v", got, tc.changed)
			}
			if got := rel(r.in); !slices.Equal(got, tc.appeared) {
				t.Errorf("appeared %v, want %v", got, tc.appeared)
			}
			if got := rel(r.out); !slices.Equal(got, tc.gone) {
				t.Errorf("gone %v, want %v", got, tc.gone)
			}
		})
	}
}

// TestHotCap: past maxHot folders changed lately, the one that changed
// longest ago goes back to the round, so no tick becomes a full walk.
func TestHotCap(t *testing.T) {
	p := newPoller(time.Second)
	p.maxHot = 2
	t0 := time.Now()
	for i, name := range []string{"/a", "/b", "/c"} {
		p.heat(name, t0.Add(time.Duration(i)*time.Second))
	}
	if _, ok := p.hot["/a"]; ok || len(p.hot) != 2 {
		t.Errorf("hot %v, want /b and /c", p.hot)
	}
}

// forgetting forgets folders reported gone, as the tree does.
type forgetting struct {
	recorder
	p *poller
}

func (f *forgetting) gone(p string) { f.recorder.gone(p); f.p.forget(p, f) }

// TestPollFolderGoneWithinStep: a step probes its folders together, then
// compares them one by one; a subfolder removed after the probes is found
// gone by its parent's comparison and forgotten before its own, which
// must then be skipped (it was a nil dereference that stopped the server).
func TestPollFolderGoneWithinStep(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "A", "B", "f.json"), "{}")
	write(t, filepath.Join(dir, "A", "x.json"), "{}")
	age(t, dir, time.Now().Add(-time.Hour)) // nothing is hot: every folder waits for the step
	p := pollerOf(t, dir, time.Hour)
	p.batch = 64
	c := &forgetting{p: p}
	write(t, filepath.Join(dir, "A", "y.json"), "{}") // A's names change: its comparison relists
	p.startTick(time.Now(), c)
	remove := func() {
		if err := os.RemoveAll(filepath.Join(dir, "A", "B")); err != nil {
			t.Fatal(err)
		}
	}
	p.afterProbe = remove
	for p.step(time.Hour, c) {
	}
	if !slices.Contains(c.out, filepath.Join(dir, "A", "B")) {
		t.Errorf("got gone %v, want A/B", c.out)
	}
}
