package schema

import (
	"math"
	"strconv"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Cost is the work an operation asks for, computed before it runs: every
// field counts once for each time it will be resolved, so a list
// multiplies everything selected beneath it by the size that the snapshot
// (or, for introspection, the schema) implies, and every alias counts
// again. Directives are ignored: a field under @skip is still counted.
func (x *Executor) Cost(snap *registry.Snapshot, p *Prepared, vars map[string]any) int {
	c := coster{x: x, snap: snap, vars: withDefaults(p.op, vars), defs: fragments(p.doc), memo: map[spread]int{}}
	var root *graphql.Object
	switch p.op.Operation {
	case ast.OperationTypeMutation:
		root = x.Schema.MutationType()
	case ast.OperationTypeSubscription:
		root = x.Schema.SubscriptionType()
	default:
		root = x.Schema.QueryType()
	}
	return c.set(p.op.SelectionSet, root, 0)
}

// checkCost refuses an operation that costs more than the limit.
func (x *Executor) checkCost(snap *registry.Snapshot, p *Prepared, vars map[string]any) *Failure {
	if x.Limits.MaxCost <= 0 {
		return nil
	}
	if c := x.Cost(snap, p, vars); c > x.Limits.MaxCost {
		return failf([]ast.Node{p.op}, "query costs %d, over the limit of %d (server.max_cost): every field counts once per list item it is resolved for, aliases included; select fewer fields or use taskPage", c, x.Limits.MaxCost)
	}
	return nil
}

type coster struct {
	x    *Executor
	snap *registry.Snapshot
	vars map[string]any // as sent, with the operation's defaults for those not sent
	defs map[string]*ast.FragmentDefinition
	memo map[spread]int // fragment costs
}

// spread is a fragment in the one context that its cost depends on: the
// size of the page it is spread under. Remembering a cost by name alone
// would let a fragment first spread under an empty page be counted as
// empty under every page of 1,000.
type spread struct {
	name string
	page int
}

// withDefaults adds the operation's variable defaults (numbers and
// strings) to the variables sent: the executor uses them, so the cost and
// the subscription's arguments must, or a page size given as a default
// ($n: Int = 1000) would be counted as the default of taskPage.
func withDefaults(op *ast.OperationDefinition, vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars)+len(op.VariableDefinitions))
	for _, d := range op.VariableDefinitions {
		if d.Variable == nil || d.Variable.Name == nil {
			continue
		}
		switch v := d.DefaultValue.(type) {
		case *ast.IntValue:
			if i, err := strconv.Atoi(v.Value); err == nil {
				out[d.Variable.Name.Value] = i
			}
		case *ast.StringValue:
			out[d.Variable.Name.Value] = v.Value
		}
	}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// guessedList is the size of a list the snapshot says nothing about.
const guessedList = 20

// set is the cost of a selection set on a type; page is the size of the
// taskPage it is under (for its nodes).
func (c *coster) set(set *ast.SelectionSet, parent graphql.Type, page int) int {
	if set == nil {
		return 0
	}
	total := 0
	for _, s := range set.Selections {
		switch s := s.(type) {
		case *ast.Field:
			total = add(total, c.field(s, parent, page))
		case *ast.InlineFragment:
			t := parent
			if s.TypeCondition != nil {
				t = c.named(s.TypeCondition.Name.Value, parent)
			}
			total = add(total, c.set(s.SelectionSet, t, page))
		case *ast.FragmentSpread:
			key := spread{name: s.Name.Value, page: page}
			fc, ok := c.memo[key]
			if def, known := c.defs[key.name]; !ok && known {
				t := parent
				if def.TypeCondition != nil {
					t = c.named(def.TypeCondition.Name.Value, parent)
				}
				fc = c.set(def.SelectionSet, t, page)
				c.memo[key] = fc
			}
			total = add(total, fc)
		}
	}
	return total
}

func (c *coster) named(name string, fallback graphql.Type) graphql.Type {
	if t := c.x.Schema.Type(name); t != nil {
		return t
	}
	return fallback
}

func (c *coster) field(f *ast.Field, parent graphql.Type, page int) int {
	name := f.Name.Value
	var typ graphql.Type
	switch name {
	case "__typename":
		return 1
	case "__schema":
		typ = graphql.SchemaType
	case "__type":
		typ = graphql.TypeType
	default:
		if def := fieldDef(parent, name); def != nil {
			typ = def.Type
		}
	}
	if typ == nil {
		return 1 // validation has refused unknown fields already
	}
	size, isList := 1, false
	if nn, ok := typ.(*graphql.NonNull); ok {
		typ = nn.OfType
	}
	if l, ok := typ.(*graphql.List); ok {
		size, isList = c.listSize(parent.Name(), name, page), true
		typ = l.OfType
		if nn, ok := typ.(*graphql.NonNull); ok {
			typ = nn.OfType
		}
	}
	// The page size matters only to the TaskPage right beneath taskPage:
	// below its nodes it is no longer in play, and dropping it there keeps
	// the fragments spread beneath remembered once, not once per size.
	if parent.Name() == "Query" && name == "taskPage" {
		page = c.pageSize(f)
	} else {
		page = 0
	}
	if f.SelectionSet == nil { // a leaf: a scalar, or a list of them
		if isList {
			return add(1, size)
		}
		return 1
	}
	return add(1, mul(size, c.set(f.SelectionSet, typ, page)))
}

func fieldDef(t graphql.Type, name string) *graphql.FieldDefinition {
	switch t := t.(type) {
	case *graphql.Object:
		return t.Fields()[name]
	case *graphql.Interface:
		return t.Fields()[name]
	}
	return nil
}

// listSize is how many items a list field holds, as the snapshot or the
// schema says.
func (c *coster) listSize(parent, field string, page int) int {
	s := c.snap
	avgVersions := 1
	if n := s.TaskCount(); n > 0 {
		avgVersions = (s.VersionCount() + n - 1) / n
	}
	switch parent + "." + field {
	case "Query.tasks":
		return s.TaskCount()
	case "TaskPage.nodes":
		return page
	case "Query.taskVersions", "Task.availableVersions", "Task.versions":
		return avgVersions
	case "Query.loadErrors":
		return s.ErrorCount()
	case "Query.conflicts":
		return s.ConflictCount()
	case "Query.sources":
		return len(s.Sources())
	case "__Schema.types":
		return len(c.x.Schema.TypeMap())
	case "__Schema.directives":
		return len(c.x.Schema.Directives())
	}
	if n, ok := c.x.introspectionSizes()[parent+"."+field]; ok {
		return n
	}
	return guessedList
}

// pageSize is the first argument of taskPage, as the resolver will read it.
func (c *coster) pageSize(f *ast.Field) int {
	n := defaultPage
	for _, a := range f.Arguments {
		if a.Name == nil || a.Name.Value != "first" {
			continue
		}
		switch v := a.Value.(type) {
		case *ast.IntValue:
			if i, err := strconv.Atoi(v.Value); err == nil {
				n = i
			}
		case *ast.Variable:
			switch i := c.vars[v.Name.Value].(type) {
			case float64:
				n = int(i)
			case int:
				n = i
			}
		}
	}
	return min(max(n, 0), maxPage)
}

// introspectionSizes are the longest lists of the schema's own
// description: a query over them costs what it would on the largest type.
func (x *Executor) introspectionSizes() map[string]int {
	x.sizesOnce.Do(func() {
		var fields, args, enums, inputs, ifaces, possible int
		for _, t := range x.Schema.TypeMap() {
			switch t := t.(type) {
			case *graphql.Object:
				fields = max(fields, len(t.Fields()))
				ifaces = max(ifaces, len(t.Interfaces()))
				for _, f := range t.Fields() {
					args = max(args, len(f.Args))
				}
			case *graphql.Interface:
				fields = max(fields, len(t.Fields()))
				possible = max(possible, len(x.Schema.PossibleTypes(t)))
			case *graphql.Union:
				possible = max(possible, len(t.Types()))
			case *graphql.Enum:
				enums = max(enums, len(t.Values()))
			case *graphql.InputObject:
				inputs = max(inputs, len(t.Fields()))
			}
		}
		for _, d := range x.Schema.Directives() {
			args = max(args, len(d.Args))
		}
		x.sizes = map[string]int{
			"__Type.fields": fields, "__Type.interfaces": ifaces, "__Type.possibleTypes": possible,
			"__Type.enumValues": enums, "__Type.inputFields": inputs,
			"__Field.args": args, "__Directive.args": args, "__Directive.locations": 20,
		}
	})
	return x.sizes
}

// add and mul saturate, so that a hostile query cannot wrap the count
// around to something small.
func add(a, b int) int {
	if a > math.MaxInt32-b {
		return math.MaxInt32
	}
	return a + b
}

func mul(a, b int) int {
	if a != 0 && b > math.MaxInt32/a {
		return math.MaxInt32
	}
	return a * b
}
