package schema

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

func newExecutor(tb testing.TB) *Executor {
	tb.Helper()
	s, err := New(Deps{Content: taskformat.NewContent(1 << 10)})
	if err != nil {
		tb.Fatal(err)
	}
	return &Executor{Schema: s, Limits: DefaultLimits()}
}

func TestPrepare(t *testing.T) {
	x := newExecutor(t)
	tests := []struct {
		name    string
		query   string
		op      string
		wantMsg string // empty: the request is prepared
	}{
		{"query", "{ tasks { id } }", "", ""},
		{"syntax", "{ tasks { id }", "", "Syntax Error"},
		{"unknown field", "{ nope }", "", `Cannot query field "nope"`},
		{"self spread", "{ tasks { ...A } } fragment A on Task { ...A }", "", `Cannot spread fragment "A" within itself.`},
		{"cycle of three", "{ tasks { ...A } } fragment A on Task { ...B } fragment B on Task { id ...C } fragment C on Task { ... on Task { ...A } }", "", `"A" within itself via B, C`},
		{"cycle in an unused fragment", "{ tasks { id } } fragment A on Task { ...B } fragment B on Task { ...A }", "", "within itself"},
		{"diamond is no cycle", "{ tasks { ...A ...B } } fragment A on Task { ...C } fragment B on Task { ...C } fragment C on Task { id }", "", ""},
		{"unknown fragment", "{ tasks { ...Nope } }", "", `Unknown fragment "Nope"`},
		{"pick by name", "query A { tasks { id } } query B { registry { generation } }", "B", ""},
		{"unknown name", "query A { tasks { id } }", "Z", `unknown operation named "Z"`},
		{"too long", "{ tasks { id } }" + strings.Repeat(" ", DefaultLimits().MaxQueryBytes), "", "over the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, f := x.Prepare(Request{Query: tc.query, OperationName: tc.op})
			if tc.wantMsg == "" {
				if f != nil || p == nil {
					t.Fatalf("got failure %+v, want none", f)
				}
				return
			}
			if f == nil {
				t.Fatalf("got no failure, want one saying %q", tc.wantMsg)
			}
			if !strings.Contains(f.Errors[0].Message, tc.wantMsg) {
				t.Errorf("got %q, want %q", f.Errors[0].Message, tc.wantMsg)
			}
		})
	}
}

// TestWideFragmentWeb would take 2^40 steps if depth were computed by
// walking every path through the fragments.
func TestWideFragmentWeb(t *testing.T) {
	var b strings.Builder
	b.WriteString("{ tasks { ...F0 } }")
	for i := range 40 {
		b.WriteString(" fragment F" + itoa(i) + " on Task { id ")
		if i < 39 {
			b.WriteString("...F" + itoa(i+1) + " ... on Task { ...F" + itoa(i+1) + " }")
		}
		b.WriteString(" }")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = newExecutor(t).Prepare(Request{Query: b.String()})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("checking a web of fragments did not finish")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestResolverPanic checks that a panic inside a resolver is an error on
// that field and the rest of the answer stands.
func TestResolverPanic(t *testing.T) {
	q := graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: graphql.Fields{
		"boom": field(graphql.String, "", func(graphql.ResolveParams) (any, error) { panic("boom") }),
		"nil":  field(graphql.String, "", func(graphql.ResolveParams) (any, error) { var m map[string]int; m["x"] = 1; return nil, nil }), //lint:ignore SA5000 the panic is the point
		"fine": field(graphql.String, "", func(graphql.ResolveParams) (any, error) { return "ok", nil }),
	}})
	s, err := graphql.NewSchema(graphql.SchemaConfig{Query: q})
	if err != nil {
		t.Fatal(err)
	}
	res := graphql.Do(graphql.Params{Schema: s, RequestString: "{ boom nil fine }"})
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Message)
	}
	slices.Sort(msgs) // graphql-go does not keep the order of fields in errors
	if got := strings.Join(msgs, "; "); got != "internal error in boom: boom; internal error in nil: assignment to entry in nil map" {
		t.Errorf("got errors %q, want one per panicking field", got)
	}
	if data, _ := res.Data.(map[string]any); data["fine"] != "ok" {
		t.Errorf("got %v, want the field that did not panic", res.Data)
	}
	// The registry's own schema, run without a snapshot, answers with errors.
	x := newExecutor(t)
	p, _ := x.Prepare(Request{Query: "{ tasks { id } }"})
	r := graphql.Execute(graphql.ExecuteParams{Schema: x.Schema, AST: p.doc, Context: context.Background()})
	if len(r.Errors) == 0 {
		t.Errorf("got %v, want an error", r)
	}
}
