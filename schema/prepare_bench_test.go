package schema

import (
	"fmt"
	"strings"
	"testing"
)

// allowedQueries are the most costly shapes to validate within
// MaxSelections, with a dashboard's query and GraphiQL's introspection.
func allowedQueries(tb testing.TB) []struct{ name, query string } {
	tb.Helper()
	half := MaxSelections / 2
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	return []struct{ name, query string }{
		{"a dashboard's query", "{ tasks { id version label description tags availableVersions verdict { status } } }"},
		{"GraphiQL's introspection", readQuery(tb, "introspection.graphql")},
		{"distinct aliases", "{" + distinctAliases(MaxSelections) + "}"},
		{"one field repeated", "{" + rep("tasks{id}", half) + "}"},
		{"one alias repeated", "{" + rep("a:__typename ", MaxSelections) + "}"},
		{"aliases repeated in two fragments", "{...A ...B} fragment A on Query {" + rep("tasks{id}", half/2-1) + "} fragment B on Query {" + rep("tasks{id}", half/2-1) + "}"},
		{"repeated fields under repeated fields", "{" + rep("tasks{"+rep("id ", 30)+"}", MaxSelections/32) + "}"},
		{"a fragment spread under repeated fields", "{" + rep("tasks{...F}", half-20) + "} fragment F on Task {" + rep("id ", 38) + "}"},
		{"spreads of fragments under repeated fields", "{" + rep("tasks{...F ...G}", MaxSelections/3-40) + "} fragment F on Task {" + rep("id ", 50) + "} fragment G on Task {" + rep("id ", 50) + "}"},
	}
}

func distinctAliases(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d:__typename ", i)
	}
	return b.String()
}

// BenchmarkPrepareAllowed: what the most costly queries within
// MaxSelections cost to parse and validate, as a ratio to a dashboard's
// query measured in the same run (x-dashboard).
func BenchmarkPrepareAllowed(b *testing.B) {
	x := newExecutor(b)
	var base float64
	for i, q := range allowedQueries(b) {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				if _, f := x.Prepare(Request{Query: q.query}); f != nil {
					b.Fatalf("refused: %v", f.Errors[0].Message)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if i == 0 { // the last run of the baseline, not its first of one
				base = ns
			}
			b.ReportMetric(ns/base, "x-dashboard")
		})
	}
}
