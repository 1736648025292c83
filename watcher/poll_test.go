package watcher

import (
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	p := newPoller(time.Second, DefaultPollCPU)
	p.budget = budget
	p.batch = 1 // one folder at a time, so that tests can count them
	for _, d := range walkFolders(dir) {
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
	p := newPoller(time.Second, DefaultPollCPU)
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

// TestPollRound: a round is the time from a folder's check to its next,
// measured in ticks; it is reported once done, and slow rounds are
// logged once, from the second round, with the watch.poll_cpu that would make a round two
// intervals or, when none can, what to do instead.
func TestPollRound(t *testing.T) {
	cases := []struct {
		name    string
		folders int           // task folders, besides the root
		share   float64       // watch.poll_cpu
		round   time.Duration // at one folder a tick of a second
		hint    string        // in the log; "" for no log
	}{
		{"fast", 1, DefaultPollCPU, 2 * time.Second, ""},
		{"slow, a larger share would do", 3, DefaultPollCPU, 4 * time.Second, "watch.poll_cpu: 0.5 would make a round about 2s"},
		{"slow, the whole machine would not do", 9, 0.5, 10 * time.Second, "even watch.poll_cpu: 1 would take about 5s a round"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for i := range tc.folders {
				write(t, filepath.Join(dir, fmt.Sprintf("t%d", i), "main.js"), "x")
			}
			age(t, dir, time.Now().Add(-time.Hour))
			var logs strings.Builder
			w := New(dir, Config{Mode: ModePoll, PollInterval: time.Second, PollCPU: tc.share}, slog.New(slog.NewTextHandler(&logs, nil)))
			tr := &tree{w: w, watched: map[string]bool{}, poll: pollerOf(t, dir, 0), found: func(string) {}}
			var r recorder
			now := time.Now()
			for tick := range 3*(tc.folders+1) + 1 { // three rounds
				tr.poll.tick(now.Add(time.Duration(tick)*time.Second), &r)
				tr.roundDone()
				if tick < tc.folders+1 && w.Status().PollRound != 0 {
					t.Fatalf("a round reported after %d ticks of %d folders", tick+1, tc.folders+1)
				}
				if tick < 2*(tc.folders+1) && logs.Len() > 0 {
					t.Fatalf("logged before the second round was done: %s", logs.String())
				}
			}
			if got := w.Status().PollRound; got != tc.round {
				t.Errorf("round %s, want %s", got, tc.round)
			}
			if n := strings.Count(logs.String(), "poll rounds are slow"); tc.hint == "" && n != 0 || tc.hint != "" && n != 1 {
				t.Errorf("logged a slow round %d times, want %v: %s", n, tc.hint != "", logs.String())
			}
			if !strings.Contains(logs.String(), tc.hint) {
				t.Errorf("log %q does not say %q", logs.String(), tc.hint)
			}
		})
	}
}

// TestPollRoundAcrossRemovals: most of the polled folders removed at
// once, found in the middle of a tick, neither end the round early nor
// make it count more than once; and polling that stops (every polled
// folder gone) and starts again an hour later does not measure the hour.
func TestPollRoundAcrossRemovals(t *testing.T) {
	dir := t.TempDir()
	const n = 300
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("t%04d", i), "main.js"), "x")
	}
	age(t, dir, time.Now().Add(-time.Hour))
	var logs strings.Builder
	w := New(dir, Config{Mode: ModeFsnotify, PollInterval: time.Second}, slog.New(slog.NewTextHandler(&logs, nil)))
	p := pollerOf(t, dir, time.Hour) // the whole tree at every tick: a round is a tick
	p.batch = 64
	tr := &tree{w: w, watched: map[string]bool{}, poll: p, found: func(string) {}}
	now := time.Now()
	for tick := range 4 {
		if tick == 2 {
			for i := 10; i < n; i++ {
				if err := os.RemoveAll(filepath.Join(dir, fmt.Sprintf("t%04d", i))); err != nil {
					t.Fatal(err)
				}
			}
		}
		p.tick(now.Add(time.Duration(tick)*time.Second), tr)
		tr.roundDone()
		if want := tick; p.rounds != want || tick > 0 && w.Status().PollRound != time.Second {
			t.Fatalf("tick %d: %d rounds of %s, want %d of 1s", tick, p.rounds, w.Status().PollRound, want)
		}
	}
	if p.len() != 11 {
		t.Fatalf("polling %d folders after the removal, want 11 (the root too)", p.len())
	}

	// Every polled folder goes (the tree watches them through inotify
	// now, say); an hour later one is polled again.
	for q := range maps.Clone(p.dirs) {
		tr.forget(q)
	}
	later := now.Add(time.Hour)
	for _, d := range walkFolders(filepath.Join(dir, "t0000")) {
		p.add(d.path, d.state, d.entries, false, later)
	}
	for tick := range 3 {
		p.tick(later.Add(time.Duration(tick)*time.Second), tr)
		tr.roundDone()
	}
	if got := w.Status().PollRound; got != time.Second {
		t.Errorf("round %s after polling paused for an hour, want 1s", got)
	}
	if logs.Len() > 0 {
		t.Errorf("logged a slow round: %s", logs.String())
	}
}

// TestPollRootGoneWithinTick: the whole polled tree removed while a tick
// has folders to go (more than one batch): the tick ends, having reported
// the root gone, and the next round starts afresh.
func TestPollRootGoneWithinTick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	for i := range 50 {
		write(t, filepath.Join(dir, fmt.Sprintf("t%02d", i), "main.js"), "x")
	}
	age(t, dir, time.Now().Add(-time.Hour))
	p := pollerOf(t, dir, time.Hour)
	p.batch = 8 // the root's check is in the first batch; the others are to go
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	f := &forgetting{p: p}
	p.tick(time.Now(), f)
	if !slices.Contains(f.out, dir) || p.len() != 0 || p.rounds != 0 {
		t.Errorf("after the tick: gone %v, %d folders polled, %d rounds; want the root gone, none, 0", f.out, p.len(), p.rounds)
	}
}
