package watcher

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var benchTasks = flag.Int("tasks", 1_000, "task folders in the tree that BenchmarkSaveToBatch generates (go tool -modfile=tools/go.mod task bench-watch uses 100,000)")

// generateTree writes n task folders of five small files, tests/
// included, in folders of 1,000, the way a large collection is laid out.
// Earlier tasks are older.
func generateTree(tb testing.TB, dir string, n int) {
	tb.Helper()
	files := []string{"metadata.json", "input.schema.json", "output.schema.json", "main.js", "tests/a.json"}
	for i := range n {
		task := filepath.Join(dir, fmt.Sprintf("g%03d", i/1000), fmt.Sprintf("task%06d", i))
		if err := os.MkdirAll(filepath.Join(task, "tests"), 0o755); err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(task, f), []byte("{}"), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkSaveToBatch is save-to-visible at the watcher: from a write on
// disk to the batch that names the file, with the default debounce and
// poll interval, in a tree of -tasks task folders. fsnotify, with a watch
// on every folder, is the baseline of the same run; each other way of
// watching reports its p50 and its ratio to it.
//
//   - split: auto with watches for only half the folders (an injected
//     limit); the task saved is an old one, so it is polled;
//   - poll-same: poll mode, one task saved again and again, as an author
//     does;
//   - poll-each: poll mode, a different task at every save.
func BenchmarkSaveToBatch(b *testing.B) {
	dir := b.TempDir()
	generateTree(b, dir, *benchTasks)
	folders := 1 + (*benchTasks+999)/1000 + 2**benchTasks
	// Benchmarks do not fight either: no run takes over a quarter of this
	// user's inotify watches. A tree too large for that has its fsnotify
	// baseline measured on its first folder of 1,000 tasks (a save costs
	// the same whatever the size of the tree it is in), and its split
	// watches a quarter of the limit.
	share := autoBudget(readSysctl(sysctlWatches)) / 4
	baseRoot, split := dir, min(folders/2, share)
	if folders > share {
		baseRoot = filepath.Join(dir, "g000")
	}
	var baseline time.Duration
	cases := []struct {
		name       string
		root       string
		mode       Mode
		maxWatches int
		each       bool
	}{
		{"fsnotify", baseRoot, ModeFsnotify, 0, false},
		{"split", dir, ModeAuto, split, false},
		{"poll-same", dir, ModePoll, 0, false},
		{"poll-each", dir, ModePoll, 0, true},
	}
	for _, tc := range cases {
		b.Run(fmt.Sprintf("%s/tasks=%d", tc.name, *benchTasks), func(b *testing.B) {
			cfg := Config{Mode: tc.mode, MaxWatches: tc.maxWatches, PollInterval: time.Second} // the defaults of serve
			w := New(tc.root, cfg, slog.New(slog.DiscardHandler))
			out := make(chan Batch, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, out) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			<-w.Ready()
			b.Logf("%+v", w.Status())
			var took []time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				task := 0
				if tc.each {
					task = (i * 7919) % *benchTasks // spread over the tree
				}
				if tc.name == "split" {
					task = 0 // the oldest: polled
				}
				p := filepath.Join(dir, fmt.Sprintf("g%03d", task/1000), fmt.Sprintf("task%06d", task), "tests", "a.json")
				// A person saves at any moment of a poll interval, not just
				// after a batch, which is when the last save was seen.
				time.Sleep(rand.N(cfg.PollInterval))
				start := time.Now()
				if err := os.WriteFile(p, fmt.Appendf(nil, `{"save": %d}`, i), 0o644); err != nil {
					b.Fatal(err)
				}
				for found := false; !found; {
					select {
					case batch := <-out:
						found = slices.Contains(batch.Paths, p)
					case <-time.After(time.Minute):
						b.Fatalf("%s: no batch with %s within a minute", tc.name, p)
					}
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			p50 := took[len(took)/2]
			b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50-ms")
			b.ReportMetric(float64(took[len(took)-1])/float64(time.Millisecond), "max-ms")
			if tc.name == "fsnotify" {
				baseline = p50
			} else if baseline > 0 {
				b.ReportMetric(float64(p50)/float64(baseline), "p50/fsnotify")
			}
		})
	}
}

// BenchmarkPollRound is one round of polling a tree of -tasks task folders
// with no budget to stop it: the stats a round costs, on as many cores as
// -cpu gives. A round at watch.poll_cpu s takes about this over s; run
// with -cpu 1,2 (task bench-poll) to see it shrink with the cores.
func BenchmarkPollRound(b *testing.B) {
	dir := b.TempDir()
	generateTree(b, dir, *benchTasks)
	old := time.Now().Add(-time.Hour)
	p := newPoller(time.Second, 1)
	p.budget = time.Hour
	for _, d := range walkFolders(dir) {
		p.add(d.path, d.state, d.entries, false, old)
	}
	p.hot = map[string]time.Time{} // a tree just written is hot: measure the round alone
	var r recorder
	now := time.Now()
	for b.Loop() {
		p.tick(now, &r)
	}
	if len(r.paths) > 0 {
		b.Fatalf("a round of an unchanged tree found %d changes: %v", len(r.paths), r.paths[:min(len(r.paths), 5)])
	}
	stats := float64(p.len())
	for _, d := range p.dirs {
		stats += float64(len(d.entries))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "round-µs")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/stats, "ns/stat")
}
