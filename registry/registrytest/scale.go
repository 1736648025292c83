package registrytest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// ScaleTree is a catalogue of n generated tasks in folders of 1,000, the
// shape of the scale benchmarks. Writing 100,000 tasks takes minutes, so
// the tree is written once into the system's temporary folder, marked
// complete by a .done file (hidden, so never loaded), and reused by later
// runs and by every benchmark that asks for the same n.
func ScaleTree(tb testing.TB, n int) string {
	tb.Helper()
	return kept(tb, fmt.Sprintf("ratchet-bench-scale-%d", n), ".done", func(dir string) {
		for i := range n {
			rel, id := ScaleTask(i)
			WriteTree(tb, filepath.Join(dir, rel), Task(id, "1.0.0"))
		}
	})
}

// kept is the folder name in the system's temporary folder, written by
// write unless a file marker in it says an earlier run wrote it whole.
func kept(tb testing.TB, name, marker string, write func(dir string)) string {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), name)
	if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
		return dir
	}
	if err := os.RemoveAll(dir); err != nil {
		tb.Fatal(err)
	}
	write(dir)
	if err := os.WriteFile(filepath.Join(dir, marker), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// ScaleTask is where task i of a ScaleTree lives, relative to the tree,
// and its id, so that a benchmark can save a task it picks at random.
func ScaleTask(i int) (rel, id string) {
	return filepath.Join(fmt.Sprintf("g%03d", i/1000), fmt.Sprintf("task%06d", i)),
		fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
}

// BareRead is `find DIR -type f | xargs cat`: every file read once, the
// baseline a load is measured against. It returns the bytes read.
func BareRead(tb testing.TB, dir string) int64 {
	tb.Helper()
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
		tb.Fatal(err)
	}
	return total
}

// ScaleSize is the number of tasks a scale benchmark runs at, read from
// RATCHET_BENCH_TASKS. Unset, the benchmark is skipped: it writes and
// loads a large catalogue, which is for a Taskfile target (named by
// target), not for every `go test -bench`.
func ScaleSize(tb testing.TB, target string) int {
	tb.Helper()
	v := os.Getenv("RATCHET_BENCH_TASKS")
	if v == "" {
		tb.Skipf("writes and loads a large catalogue: run it with RATCHET_BENCH_TASKS=N (task %s)", target)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("RATCHET_BENCH_TASKS=%q: want a number of tasks", v)
	}
	return n
}
