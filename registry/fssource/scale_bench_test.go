package fssource

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// BenchmarkScale loads a generated catalogue of RATCHET_BENCH_TASKS tasks
// (`task bench-100k` sets 100,000; unset, it skips) in folders of 1,000,
// and reports against a bare read of the same files measured in the same
// run: the load's time as a ratio (on every core, and on one as the
// loader did before), and the memory it keeps per task.
func BenchmarkScale(b *testing.B) {
	n := registrytest.ScaleSize(b, "bench-100k")
	dir := registrytest.ScaleTree(b, n)
	registrytest.BareRead(b, dir) // into the page cache, as for every read after
	for b.Loop() {
		start := time.Now()
		fileBytes := registrytest.BareRead(b, dir)
		bare := time.Since(start)

		prev := runtime.GOMAXPROCS(1)
		start = time.Now()
		loadOnce(b, dir, n)
		serial := time.Since(start)
		runtime.GOMAXPROCS(prev)

		runtime.GC()
		heap0, rss0 := memNow()
		start = time.Now()
		reg := loadOnce(b, dir, n)
		parallel := time.Since(start)
		runtime.GC()
		heap1, rss1 := memNow()
		runtime.KeepAlive(reg)

		b.ReportMetric(bare.Seconds(), "bare-s")
		b.ReportMetric(parallel.Seconds(), "load-s")
		b.ReportMetric(parallel.Seconds()/bare.Seconds(), "load/bare")
		b.ReportMetric(serial.Seconds()/bare.Seconds(), "serial-load/bare")
		b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-B/task")
		b.ReportMetric(float64(int64(rss1)-int64(rss0))/float64(n), "rss-B/task")
		b.ReportMetric(float64(fileBytes)/float64(n), "files-B/task")
	}
}

func loadOnce(b *testing.B, dir string, n int) *registry.Registry {
	b.Helper()
	reg := registry.New(time.Now, nil)
	src, err := New(Config{Name: "scale", Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}}, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := registry.LoadOnce(context.Background(), reg, src); err != nil {
		b.Fatal(err)
	}
	if got := reg.Snapshot().TaskCount(); got != n {
		b.Fatalf("got %d tasks, want %d", got, n)
	}
	return reg
}

// memNow is the live heap and the resident set of this process.
func memNow() (heap, rss uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, err := os.ReadFile("/proc/self/statm")
	if err == nil {
		if f := strings.Fields(string(data)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	return ms.HeapAlloc, rss
}
