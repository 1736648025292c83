package registry

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLoad compares a full load with BenchmarkReadOnly, which reads
// the same files into memory and does nothing else: the ratio is the
// loader's own cost.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		dir := generatedTree(b, n)
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			for b.Loop() {
				reg := New(time.Now, nil)
				src, _ := NewFSSource("b", dir, 0)
				idx := reg.AddSource(src)
				res, err := src.Scan(context.Background())
				reg.Apply(Update{Source: idx, Full: true, Results: res, Err: err})
				if reg.Snapshot().TaskCount() != n {
					b.Fatalf("got %d tasks", reg.Snapshot().TaskCount())
				}
			}
		})
	}
}

func BenchmarkReadOnly(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		dir := generatedTree(b, n)
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			for b.Loop() {
				total := 0
				err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					data, err := os.ReadFile(p)
					total += len(data)
					return err
				})
				if err != nil || total == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}

// generatedTree writes n tasks once per size and keeps them for the run.
func generatedTree(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("ratchet-bench-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	writeGenerated(b, dir, n)
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}
