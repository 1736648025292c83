package schema

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Request is one GraphQL request, however it arrived.
type Request struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
	Extensions    map[string]any `json:"extensions"`
}

// Limits bound what one request may ask for.
type Limits struct {
	MaxQueryBytes  int           // length of the query text
	MaxDepth       int           // nesting of fields, fragments expanded
	MaxCost        int           // fields times list sizes, before it runs (see Cost); 0: no limit
	MaxAnswerBytes int64         // content in one answer; 0: no limit
	Timeout        time.Duration // one execution (one event, for a subscription); 0: no limit
}

// The defaults of Limits fit every real dashboard query and GraphiQL's
// introspection (which costs about 20,000); the status page's query costs
// about 17 per task, so 100,000 tasks cost 1.7 million.
const (
	DefaultMaxQueryBytes  = 64 << 10
	DefaultMaxDepth       = 15
	DefaultMaxCost        = 5_000_000
	DefaultMaxAnswerBytes = 64 << 20
	DefaultTimeout        = 10 * time.Second
)

// DefaultLimits are the defaults of Limits.
func DefaultLimits() Limits {
	return Limits{MaxQueryBytes: DefaultMaxQueryBytes, MaxDepth: DefaultMaxDepth, MaxCost: DefaultMaxCost,
		MaxAnswerBytes: DefaultMaxAnswerBytes, Timeout: DefaultTimeout}
}

// Failure is a request that never ran.
type Failure struct {
	Errors []gqlerrors.FormattedError
}

// Prepared is a parsed and validated request, ready to run.
type Prepared struct {
	doc *ast.Document
	op  *ast.OperationDefinition
}

// Operation is "query", "mutation" or "subscription".
func (p *Prepared) Operation() string { return p.op.Operation }

// Executor runs requests against one schema.
type Executor struct {
	Schema graphql.Schema
	Limits Limits

	sizesOnce sync.Once
	sizes     map[string]int // see introspectionSizes
}

// Prepare parses and validates a request. Our own checks run before
// graphql-go's rules: some of those rules recurse without bound on cyclic
// fragments and overflow the stack, which no recover can catch.
func (x *Executor) Prepare(req Request) (*Prepared, *Failure) {
	if x.Limits.MaxQueryBytes > 0 && len(req.Query) > x.Limits.MaxQueryBytes {
		return nil, failf(nil, "query is %d bytes, over the limit of %d", len(req.Query), x.Limits.MaxQueryBytes)
	}
	doc, err := parser.Parse(parser.ParseParams{Source: source.NewSource(&source.Source{Body: []byte(req.Query), Name: "GraphQL request"})})
	if err != nil {
		return nil, &Failure{Errors: gqlerrors.FormatErrors(err)}
	}
	if f := checkSelections(doc); f != nil {
		return nil, f
	}
	if f := checkFragments(doc); f != nil {
		return nil, f
	}
	if f := checkDepth(doc, x.Limits.MaxDepth); f != nil {
		return nil, f
	}
	if vr := graphql.ValidateDocument(&x.Schema, doc, graphql.SpecifiedRules); !vr.IsValid {
		return nil, &Failure{Errors: vr.Errors}
	}
	op, f := pickOperation(doc, req.OperationName)
	if f != nil {
		return nil, f
	}
	return &Prepared{doc: doc, op: op}, nil
}

// Admit refuses a prepared request that would cost more than the limit
// over this snapshot.
func (x *Executor) Admit(snap *registry.Snapshot, p *Prepared, req Request) *Failure {
	return x.checkCost(snap, p, req.Variables)
}

// Execute runs a prepared request against one snapshot. The error is set
// when the run was stopped (ErrTimeout, *AnswerTooLargeError, or the
// caller's context): no resolver of it runs on after Execute returns.
func (x *Executor) Execute(ctx context.Context, snap *registry.Snapshot, p *Prepared, req Request) (*graphql.Result, error) {
	return x.execute(ctx, snap, p, req, nil)
}

func failf(nodes []ast.Node, format string, args ...any) *Failure {
	return &Failure{Errors: []gqlerrors.FormattedError{
		gqlerrors.FormatError(gqlerrors.NewError(fmt.Sprintf(format, args...), nodes, "", nil, nil, nil)),
	}}
}

func pickOperation(doc *ast.Document, name string) (*ast.OperationDefinition, *Failure) {
	var found []*ast.OperationDefinition
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			if name == "" || (op.Name != nil && op.Name.Value == name) {
				found = append(found, op)
			}
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case name != "":
		return nil, failf(nil, "unknown operation named %q", name)
	case len(found) == 0:
		return nil, failf(nil, "the document has no operation")
	default:
		return nil, failf(nil, "the document has %d operations: name the one to run with operationName", len(found))
	}
}
