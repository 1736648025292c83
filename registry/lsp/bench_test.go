package lsp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkKeystroke measures, in a workspace of 1,000 tasks, the time
// from a keystroke (a didChange) to its diagnostics, less the debounce,
// and to the failing verdict of a task of two cases; the same in a
// workspace of one task is the baseline, measured in the same run.
//
//	go test -run '^$' -bench Keystroke -benchtime 20x ./registry/lsp/
func BenchmarkKeystroke(b *testing.B) {
	const debounce = 100 * time.Millisecond
	type workspace struct {
		c                       *client
		script, small, negative string
	}
	setup := func(tasks int) workspace {
		dir := b.TempDir()
		for i := range tasks {
			task := copyTask(b, "add", dir, fmt.Sprintf("task-%04d", i))
			meta := filepath.Join(task, "metadata.json")
			data, err := os.ReadFile(meta)
			if err != nil {
				b.Fatal(err)
			}
			write(b, meta, strings.Replace(string(data), "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", uuid.NewString(), 1))
		}
		task := filepath.Join(dir, "task-0000")
		w := workspace{c: start(b, dir, "--debounce", debounce.String()), script: filepath.Join(task, "main.js"),
			small: filepath.Join(task, "tests", "small.json"), negative: filepath.Join(task, "tests", "negative.json")}
		w.c.open(w.negative)
		w.c.open(w.script)
		// The workers start with the first run; a first verdict warms them.
		w.c.change(w.script, "(function(input) {\n  return { sum: 0 };\n})\n")
		w.c.diagnostics(w.small, "the first verdict", has("got 0, want 3"))
		return w
	}
	// keystroke times one change of a test file to its diagnostic (a
	// warning: the task still loads), and one of main.js to its failing
	// verdict.
	keystroke := func(w workspace, i int) (diag, verdict time.Duration) {
		text := fmt.Sprintf(`{ "input": { "a": -4, "b": 1.5 }, "expected_output": { "sum": -2.5 }, "note%d": 1 }`, i)
		start := time.Now()
		w.c.change(w.negative, text)
		w.c.diagnostics(w.negative, "the unknown key's warning", has(fmt.Sprintf(`unknown key "note%d"`, i)))
		diag = time.Since(start) - debounce
		start = time.Now()
		w.c.change(w.script, fmt.Sprintf("(function(input) {\n  return { sum: %d };\n})\n", 1000+i))
		w.c.diagnostics(w.small, "the failing verdict", has(fmt.Sprintf("got %d, want 3", 1000+i)))
		return diag, time.Since(start)
	}
	large, small := setup(1000), setup(1)
	var diag, verdict, diag1, verdict1 time.Duration
	b.ResetTimer()
	for i := range b.N {
		d, v := keystroke(large, i)
		diag += d
		verdict += v
		d, v = keystroke(small, i)
		diag1 += d
		verdict1 += v
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(diag), "diag-ms-after-debounce")
	b.ReportMetric(ms(verdict), "verdict-ms")
	b.ReportMetric(ms(diag1), "diag-ms-1-task")
	b.ReportMetric(ms(verdict1), "verdict-ms-1-task")
	b.ReportMetric(float64(verdict)/float64(max(verdict1, 1)), "verdict-ratio")
	large.c.shutdown()
	small.c.shutdown()
}
