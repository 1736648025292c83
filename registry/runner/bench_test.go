package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// BenchmarkSaveToVerdict saves a one-case task's test file and measures
// two moments: the swap that makes the save visible, and the verdict's
// arrival. It reports how long the verdict came after the swap, the
// figure the issue asks to keep near 30 ms.
//
//	go test ./registry/runner -run '^$' -bench SaveToVerdict -benchtime 50x
func BenchmarkSaveToVerdict(b *testing.B) {
	dir := b.TempDir()
	writeTask(b, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`})
	f := newFixture(b, dir)
	f.start(b, 2)
	f.verdict(b, 1) // workers started and warm
	sub, err := f.feed.Subscribe(-1)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	var toSwap, toVerdict time.Duration
	test := filepath.Join(dir, "t001", "tests", "a.json")
	b.ResetTimer()
	for i := range b.N {
		// Alternate the expected sum (the file holds 3 at first) so that
		// every save changes the verdict.
		want := 4 - i%2
		start := time.Now()
		if err := os.WriteFile(test, fmt.Appendf(nil, `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": %d}}`, want), 0o644); err != nil {
			b.Fatal(err)
		}
		f.load(b)
		swapped := time.Now()
		for {
			e, err := sub.Next(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if e.Kind == registry.VerdictChanged {
				break
			}
		}
		toSwap += swapped.Sub(start)
		toVerdict += time.Since(start)
	}
	b.ReportMetric(float64(toSwap.Microseconds())/float64(b.N)/1000, "save-to-visible-ms")
	b.ReportMetric(float64(toVerdict.Microseconds())/float64(b.N)/1000, "save-to-verdict-ms")
	b.ReportMetric(float64((toVerdict-toSwap).Microseconds())/float64(b.N)/1000, "verdict-after-swap-ms")
}

// BenchmarkCases runs the one case of each of 1,000 tasks on two workers:
// in worker processes under the limits, and in this process without a
// sandbox. The ratio of their cases/s is the price of isolation.
//
//	go test ./registry/runner -run '^$' -bench 'Cases' -benchtime 3x
func BenchmarkCases(b *testing.B) {
	const tasks, workers = 1000, 2
	cases := make([]Case, tasks)
	tc := loadCase(b, `{"input": {"a": 0, "b": 1}, "expected_output": {"sum": 1}}`)
	for i := range cases {
		tc.Input, tc.ExpectedOutput = fmt.Appendf(nil, `{"a": %d, "b": 1}`, i), fmt.Appendf(nil, `{"sum": %d}`, i+1)
		c := NewCase(tc)
		c.Script = addScript
		c.InputSchema, c.OutputSchema = []byte(`{"type": "object"}`), []byte(`{"type": "object"}`)
		cases[i] = c
	}
	runAll := func(b *testing.B, run func(Case) registry.CaseResult) {
		next := make(chan Case)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range next {
					if r := run(c); r.Status != registry.CasePassed {
						b.Errorf("%s: %s", r.Status, r.Message)
					}
				}
			}()
		}
		for _, c := range cases {
			next <- c
		}
		close(next)
		wg.Wait()
	}
	b.Run("sandbox", func(b *testing.B) {
		p := newTestPool(b, workers)
		runAll(b, func(c Case) registry.CaseResult { return p.Run(context.Background(), c) }) // start the workers
		b.ResetTimer()
		for range b.N {
			runAll(b, func(c Case) registry.CaseResult { return p.Run(context.Background(), c) })
		}
		b.ReportMetric(float64(b.N*tasks)/b.Elapsed().Seconds(), "cases/s")
	})
	b.Run("in-process", func(b *testing.B) {
		for range b.N {
			runAll(b, func(c Case) registry.CaseResult { return Run(c, testLimits.Timeout) })
		}
		b.ReportMetric(float64(b.N*tasks)/b.Elapsed().Seconds(), "cases/s")
	})
}
