package taskformat

import (
	"encoding/json"
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

// BenchmarkNumberScan measures the scan for numbers the validator cannot
// take against json.Valid on the same text, which the loader runs on
// every test file already: the ratio is what the bound adds. The text is
// the worst case, a test file of numbers that each need parsing.
func BenchmarkNumberScan(b *testing.B) {
	for _, kind := range []struct{ name, number string }{{"plain", "12345.678"}, {"exponent", "-1.2345678e-300"}} {
		var text []byte
		text = append(text, `{"input": {"a": [`...)
		for len(text) < 1<<20 {
			text = append(text, kind.number...)
			text = append(text, ", "...)
		}
		text = append(text, "0]}}"...)
		b.Run(kind.name+"/json.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if !json.Valid(text) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(kind.name+"/jsonNumbers", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if err := jsonNumbers(text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
