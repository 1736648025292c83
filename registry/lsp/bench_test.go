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
		dir := tasksFolder(b, tasks)
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

// tasksFolder makes a folder of n copies of the add task, each with its
// own uuid.
func tasksFolder(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	for i := range n {
		task := copyTask(tb, "add", dir, fmt.Sprintf("task-%04d", i))
		meta := filepath.Join(task, "metadata.json")
		data, err := os.ReadFile(meta)
		if err != nil {
			tb.Fatal(err)
		}
		write(tb, meta, strings.Replace(string(data), "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", uuid.NewString(), 1))
	}
	return dir
}

// BenchmarkFirstLoad measures a session's start in a workspace of 1,000
// tasks: from starting the process to the answer of the first request
// after initialize, which waits for the workspace's first load. One task
// is the baseline, measured in the same run.
//
//	go test -run '^$' -bench FirstLoad -benchtime 5x ./registry/lsp/
func BenchmarkFirstLoad(b *testing.B) {
	large, small := tasksFolder(b, 1000), tasksFolder(b, 1)
	session := func(dir string) time.Duration {
		start := time.Now()
		c := startFolders(b, []string{dir}, "--watch", "off")
		c.alive()
		d := time.Since(start)
		c.shutdown()
		return d
	}
	var l, s time.Duration
	b.ResetTimer()
	for range b.N {
		l += session(large)
		s += session(small)
	}
	b.StopTimer()
	b.ReportMetric(float64(l.Milliseconds())/float64(b.N), "ms-1000-tasks")
	b.ReportMetric(float64(s.Milliseconds())/float64(b.N), "ms-1-task")
	b.ReportMetric(float64(l)/float64(max(s, 1)), "ratio")
}
