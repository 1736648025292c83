package fssource

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// BenchmarkReload is one saved file, reloaded incrementally and swapped
// in, in catalogues of 100 and 10,000 tasks: the two should cost the same.
func BenchmarkReload(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			dir := registrytest.GeneratedTree(b, n)
			reg := registry.New(time.Now, registry.NewFeed(1024, 16))
			src, err := New(Config{Name: "b", Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}}, 0, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			idx := reg.AddSource(src)
			u, _ := src.scan(context.Background(), time.Time{})
			u.Source = idx
			reg.Apply(u)
			meta := filepath.Join(dir, "g000", "task00000", "metadata.json")
			orig, err := os.ReadFile(meta)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = os.WriteFile(meta, orig, 0o644) })
			versions := [2][]byte{orig, []byte(strings.Replace(string(orig), `"label": "Task`, `"label": "Edited`, 1))}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := os.WriteFile(meta, versions[(i+1)%2], 0o644); err != nil {
					b.Fatal(err)
				}
				u, _ := src.reload(context.Background(), []string{meta}, time.Time{})
				u.Source = idx
				if _, swapped := reg.Apply(u); !swapped {
					b.Fatal("no swap")
				}
			}
		})
	}
}

// BenchmarkSaveToEvent is the time from a write on disk to the event on
// the change feed, through the real watcher and service. The debounce
// window is part of it by design; the reported latency-minus-debounce is
// what the pipeline itself adds.
func BenchmarkSaveToEvent(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			dir := registrytest.GeneratedTree(b, n)
			cfg := testWatch(watcher.ModeFsnotify)
			l := startServiceWith(b, cfg, dir)
			meta := filepath.Join(dir, "g000", "task00000", "metadata.json")
			orig, _ := os.ReadFile(meta)
			b.Cleanup(func() { _ = os.WriteFile(meta, orig, 0o644) })
			versions := [2][]byte{orig, []byte(strings.Replace(string(orig), `"label": "Task`, `"label": "Edited`, 1))}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := os.WriteFile(meta, versions[(i+1)%2], 0o644); err != nil {
					b.Fatal(err)
				}
				l.events(b, func(e Event) bool { return e.Kind == TaskUpdated })
			}
			perOp := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(perOp-cfg.Debounce)/float64(time.Millisecond), "ms-over-debounce")
		})
	}
}
