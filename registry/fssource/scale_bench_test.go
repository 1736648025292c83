package fssource

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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
	v := os.Getenv("RATCHET_BENCH_TASKS")
	if v == "" {
		b.Skip("writes and loads a large catalogue: run it with RATCHET_BENCH_TASKS=N (task bench-100k)")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("RATCHET_BENCH_TASKS=%q: want a number of tasks", v)
	}
	dir := scaleTree(b, n)
	for b.Loop() {
		start := time.Now()
		fileBytes := bareRead(b, dir)
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

// scaleTree writes n tasks once, in folders of 1,000, and keeps them in
// the system's temporary folder for later runs.
func scaleTree(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("ratchet-bench-scale-%d", n))
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return dir
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		registrytest.WriteTree(b, filepath.Join(dir, fmt.Sprintf("g%03d", i/1000), fmt.Sprintf("task%06d", i)), registrytest.Task(id, "1.0.0"))
	}
	if err := os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// bareRead is `find DIR -type f | xargs cat`: every file read once.
func bareRead(b *testing.B, dir string) int64 {
	b.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		total += int64(len(data))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
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
