package watcher

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// pollTree is poll mode's tree over dir, without the loop: every folder polled.
func pollTree(t *testing.T, dir string) (*tree, *[]string) {
	t.Helper()
	var found []string
	w := New(dir, Config{Mode: ModePoll, PollInterval: time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := newPoller(time.Second, DefaultPollCPU)
	p.budget = time.Hour
	tr := &tree{w: w, watched: map[string]bool{}, poll: p, found: func(q string) { found = append(found, q) }}
	if err := tr.start(); err != nil {
		t.Fatal(err)
	}
	return tr, &found
}

// tickTree runs a tick as the loop does: startTick, steps, drain after each.
func tickTree(t *testing.T, tr *tree, now time.Time) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("tick panicked: %v", r)
		}
	}()
	tr.poll.startTick(now, tr)
	if err := tr.drain(now); err != nil {
		t.Fatal(err)
	}
	for {
		more := tr.poll.step(5*time.Millisecond, tr)
		tr.roundDone()
		if err := tr.drain(now); err != nil {
			t.Fatal(err)
		}
		if !more {
			return
		}
	}
}

func occurrences(s []string, x string) int {
	n := 0
	for _, q := range s {
		if q == x {
			n++
		}
	}
	return n
}

// A polled folder removed and made again is forgotten, then added back while
// its old place in the round is still there: it is in the round twice. Once
// it has cooled down, a name added in it makes the first of its two checks in
// a batch relist it, and the second index the longer listing with the shorter
// probe: a panic.
func TestAttackReAddedFolderTwiceInBatch(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x")
	write(t, filepath.Join(x, "main.js"), "x")
	write(t, filepath.Join(dir, "y", "main.js"), "x")
	age(t, dir, time.Now().Add(-time.Hour))
	tr, _ := pollTree(t, dir)
	now := time.Now()
	if err := os.RemoveAll(x); err != nil {
		t.Fatal(err)
	}
	tickTree(t, tr, now) // x gone, forgotten
	write(t, filepath.Join(x, "main.js"), "x")
	tickTree(t, tr, now.Add(time.Second)) // x appeared, added again
	if n := occurrences(tr.poll.order, x); n != 1 {
		t.Errorf("x is %d times in the round", n)
	}
	later := now.Add(2 * tr.poll.hotFor) // x is no longer hot
	tickTree(t, tr, later)
	write(t, filepath.Join(x, "new.js"), "x")
	tickTree(t, tr, later.Add(time.Second))
}

// A folder removed and made again over and over (a build output) grows the
// round by one place each time; compaction keeps every copy, since each names
// a polled folder.
func TestAttackRoundGrowsWithReAdds(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x")
	write(t, filepath.Join(x, "main.js"), "x")
	p := pollerOf(t, dir, time.Hour)
	f := &forgetting{p: p}
	for range 500 {
		p.forget(x, f)
		for _, d := range walkFolders(x) {
			p.add(d.path, d.state, d.entries, true, time.Now())
		}
		p.startTick(time.Now(), f)
	}
	if len(p.order) > 2*p.len()+64 {
		t.Errorf("round of %d places for %d folders", len(p.order), p.len())
	}
}

// A folder seen appearing by its parent's listing, but gone again when the
// drain walks it (rm -rf; mkdir, as a clean build does), is in its parent's
// listing as a folder and followed by nothing. Made again, its parent's
// relist finds the name it knows: nothing is reported, its files never are,
// and nothing written in it afterwards is ever seen.
func TestAttackAppearedGoneBeforeDrain(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "y", "main.js"), "x")
	age(t, dir, time.Now().Add(-time.Hour))
	tr, found := pollTree(t, dir)
	x := filepath.Join(dir, "x")
	write(t, filepath.Join(x, "main.js"), "x")
	now := time.Now()
	tr.poll.startTick(now, tr)
	for tr.poll.step(time.Hour, tr) {
	}
	if !slices.Contains(tr.pending, x) {
		t.Fatalf("x not seen appearing: pending %v", tr.pending)
	}
	if err := os.RemoveAll(x); err != nil { // before the drain's walk
		t.Fatal(err)
	}
	if err := tr.drain(now); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(x, "main.js"), "y") // made again
	*found = nil
	for i := range 3 {
		tickTree(t, tr, now.Add(time.Duration(i+1)*time.Second))
	}
	if _, ok := tr.poll.dirs[x]; !ok {
		t.Errorf("x made again is not polled; found %v", *found)
	}
	if !slices.Contains(*found, filepath.Join(x, "main.js")) && !slices.Contains(*found, x) {
		t.Errorf("x made again never reported: found %v", *found)
	}
}

// A file with a modification time in the future (an archive's, a server's
// clock ahead) makes its folder hot until that time plus hotFor: it is
// checked at every tick, outside the budget, for years.
func TestAttackFutureMtimeHotForever(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x", "main.js"), "x")
	age(t, dir, time.Now().Add(-time.Hour))
	future := time.Now().AddDate(10, 0, 0)
	if err := os.Chtimes(filepath.Join(dir, "x", "main.js"), future, future); err != nil {
		t.Fatal(err)
	}
	p := pollerOf(t, dir, time.Hour)
	var r recorder
	p.tick(time.Now().Add(2*p.hotFor), &r)
	if _, ok := p.hot[filepath.Join(dir, "x")]; ok {
		t.Errorf("a folder unchanged for twice hotFor is still hot: %v", p.hot)
	}
}

// Ticks whose time goes back: the round measured is never negative.
func TestAttackTimeBackwards(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x", "main.js"), "x")
	age(t, dir, time.Now().Add(-time.Hour))
	p := pollerOf(t, dir, time.Hour)
	var r recorder
	now := time.Now()
	p.tick(now, &r)
	p.tick(now.Add(-time.Minute), &r)
	if p.round < 0 {
		t.Errorf("round %s", p.round)
	}
}

// Random removals, remakes, replacements by files and symlinks, writes, at
// random points of ticks of random budget and batch: no panic, every polled
// folder once in the round, the round bounded, rounds never go back.
func TestAttackRandom(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a", "b", "a/c", "a/d", "b/e", "f"}
	for _, n := range names {
		write(t, filepath.Join(dir, n, "main.js"), "x")
	}
	tr, _ := pollTree(t, dir)
	rnd := rand.New(rand.NewPCG(12345, 0)).IntN // the same attack every run
	mutate := func() {
		n := filepath.Join(dir, names[rnd(len(names))])
		switch rnd(6) {
		case 0:
			os.RemoveAll(n)
		case 1:
			os.RemoveAll(n)
			os.MkdirAll(n, 0o755)
			os.WriteFile(filepath.Join(n, "main.js"), []byte("z"), 0o644)
		case 2:
			os.RemoveAll(n)
			os.MkdirAll(filepath.Dir(n), 0o755)
			os.WriteFile(n, []byte("file"), 0o644)
		case 3:
			os.RemoveAll(n)
			os.MkdirAll(filepath.Dir(n), 0o755)
			os.Symlink(filepath.Join(dir, "b"), n)
		case 4:
			os.MkdirAll(n, 0o755)
			os.WriteFile(filepath.Join(n, fmt.Sprintf("f%d.js", rnd(3))), []byte(fmt.Sprint(rnd(1000))), 0o644)
		case 5:
			os.MkdirAll(n, 0o755)
		}
	}
	now := time.Now()
	rounds := 0
	for i := range 400 {
		p := tr.poll
		p.batch = 1 + rnd(8)
		p.budget = []time.Duration{0, time.Microsecond, time.Hour}[rnd(3)]
		if rnd(4) == 0 {
			p.afterProbe = mutate
		} else {
			p.afterProbe = nil
		}
		mutate()
		now = now.Add(time.Duration(rnd(3)-1) * time.Minute * 4) // back and forth
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("iteration %d: panic %v", i, r)
				}
			}()
			if tr.poll.len() == 0 {
				return
			}
			tr.poll.startTick(now, tr)
			if err := tr.drain(now); err != nil {
				t.Fatalf("drain: %v", err)
			}
			for steps := 0; ; steps++ {
				if steps > 10000 {
					t.Fatalf("iteration %d: tick does not end", i)
				}
				more := tr.poll.step(time.Duration(rnd(2))*time.Millisecond, tr)
				tr.roundDone()
				if err := tr.drain(now); err != nil {
					t.Fatalf("drain: %v", err)
				}
				if !more {
					break
				}
			}
		}()
		if p.rounds < rounds || p.round < 0 {
			t.Fatalf("iteration %d: rounds %d after %d, round %s", i, p.rounds, rounds, p.round)
		}
		rounds = p.rounds
		if p.cursor > len(p.order) {
			t.Fatalf("cursor %d past %d", p.cursor, len(p.order))
		}
		for q := range p.dirs {
			if occurrences(p.order, q) != 1 {
				t.Fatalf("iteration %d: %s %d times in the round", i, q, occurrences(p.order, q))
			}
		}
		if len(p.order) > 2*len(p.dirs)+64+len(names) {
			t.Fatalf("round of %d for %d folders", len(p.order), len(p.dirs))
		}
	}
	t.Logf("rounds %d, polled %d", rounds, tr.poll.len())
}
