package taskformat

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad compares a full load with BenchmarkReadOnly, which reads
// the same files into memory and does nothing else: the ratio is the
// loader's own cost.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		dir := generatedTree(b, n)
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			for b.Loop() {
				if s := loadDir(b, dir); s.TaskCount() != n {
					b.Fatalf("got %d tasks", s.TaskCount())
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
