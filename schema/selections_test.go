package schema

import (
	"strings"
	"testing"
)

// TestPrepareBoundsSelections: a query within the 64 KiB limit that
// repeats one selection thousands of times is refused, naming the limit,
// before graphql-go validates it: `{tasks{id}tasks{id}...}` 7,270 times
// (65 KB) took 7.7 s of CPU to prepare, outside server.timeout, and 8 of
// them at once kept both cores busy for 52 s. The costliest shapes
// within the limit, GraphiQL's introspection and a dashboard's query
// still prepare.
func TestPrepareBoundsSelections(t *testing.T) {
	x := newExecutor(t)
	rep := strings.Repeat
	for _, tc := range []struct{ name, query string }{
		{"one field repeated in 64 KiB", "{" + rep("tasks{id}", 7270) + "}"},
		{"one alias repeated", "{" + rep("a:__typename ", 5000) + "}"},
		{"one over the limit", "{" + rep("a:__typename ", MaxSelections+1) + "}"},
		{"over the limit in fragments", "{...A} fragment A on Query {" + rep("tasks{id}", MaxSelections/4) + "} fragment B on Query {" + rep("tasks{id}", MaxSelections/4+1) + "}"},
		{"over the limit in inline fragments", "{" + rep("... on Query{__typename}", MaxSelections/2+1) + "}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, f := x.Prepare(Request{Query: tc.query})
			if f == nil || len(f.Errors) == 0 || !strings.Contains(f.Errors[0].Message, "the limit") {
				t.Fatalf("a query of %d bytes: got %+v, want a refusal naming the limit", len(tc.query), f)
			}
		})
	}
	for _, q := range allowedQueries(t) {
		t.Run(q.name, func(t *testing.T) {
			if _, f := x.Prepare(Request{Query: q.query}); f != nil {
				t.Fatalf("refused: %+v", f.Errors)
			}
		})
	}
}
