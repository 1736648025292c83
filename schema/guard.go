package schema

import (
	"strings"

	"github.com/graphql-go/graphql/language/ast"
)

// fragments maps names to definitions.
func fragments(doc *ast.Document) map[string]*ast.FragmentDefinition {
	out := map[string]*ast.FragmentDefinition{}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			out[f.Name.Value] = f
		}
	}
	return out
}

// spreads lists the fragment spreads anywhere in a selection set.
func spreads(set *ast.SelectionSet, out []*ast.FragmentSpread) []*ast.FragmentSpread {
	if set == nil {
		return out
	}
	for _, s := range set.Selections {
		switch s := s.(type) {
		case *ast.FragmentSpread:
			out = append(out, s)
		case *ast.Field:
			out = spreads(s.SelectionSet, out)
		case *ast.InlineFragment:
			out = spreads(s.SelectionSet, out)
		}
	}
	return out
}

// checkFragments rejects fragments that spread themselves, directly or
// through others (graphql-go issue 742 crashes the process on them).
func checkFragments(doc *ast.Document) *Failure {
	defs := fragments(doc)
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) *Failure
	visit = func(name string) *Failure {
		def, ok := defs[name]
		if !ok {
			return nil // unknown fragments are left to the validation rules
		}
		state[name] = onPath
		path = append(path, name)
		for _, sp := range spreads(def.SelectionSet, nil) {
			next := sp.Name.Value
			switch state[next] {
			case onPath:
				i := indexOf(path, next)
				via := ""
				if len(path[i+1:]) > 0 {
					via = " via " + strings.Join(path[i+1:], ", ")
				}
				return failf([]ast.Node{sp}, "Cannot spread fragment %q within itself%s.", next, via)
			case unvisited:
				if f := visit(next); f != nil {
					return f
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil && state[f.Name.Value] == unvisited {
			if fail := visit(f.Name.Value); fail != nil {
				return fail
			}
		}
	}
	return nil
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// checkDepth bounds the nesting of fields, with fragments expanded; it runs
// after checkFragments, so the expansion ends. Each fragment's depth is
// computed once, so a wide web of fragments costs its size, not its paths.
func checkDepth(doc *ast.Document, limit int) *Failure {
	if limit <= 0 {
		return nil
	}
	defs := fragments(doc)
	memo := map[string]int{}
	var depth func(set *ast.SelectionSet) int
	depth = func(set *ast.SelectionSet) int {
		if set == nil {
			return 0
		}
		deepest := 0
		for _, s := range set.Selections {
			d := 0
			switch s := s.(type) {
			case *ast.Field:
				d = 1 + depth(s.SelectionSet)
			case *ast.InlineFragment:
				d = depth(s.SelectionSet)
			case *ast.FragmentSpread:
				name := s.Name.Value
				fd, ok := memo[name]
				if def, known := defs[name]; !ok && known {
					fd = depth(def.SelectionSet)
					memo[name] = fd
				}
				d = fd
			}
			deepest = max(deepest, d)
		}
		return deepest
	}
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			if got := depth(op.SelectionSet); got > limit {
				return failf([]ast.Node{op}, "query is nested %d deep, over the limit of %d", got, limit)
			}
		}
	}
	return nil
}

// MaxSelections bounds the fields, fragment spreads and inline fragments
// written in one document. graphql-go's OverlappingFieldsCanBeMerged
// rule compares every pair of fields that share a response name, so a
// 64 KiB query repeating `tasks{id}` 7,270 times took 7.7 s of CPU to
// validate, before server.timeout starts. GraphiQL's introspection query
// has about 80 selections and a dashboard's a few dozen.
const MaxSelections = 1000

// checkSelections counts the selections as written (a fragment once,
// however often it is spread: checkDepth and the cost bound the
// expansion), and stops counting at the limit.
func checkSelections(doc *ast.Document) *Failure {
	n := 0
	var count func(set *ast.SelectionSet) bool
	count = func(set *ast.SelectionSet) bool {
		if set == nil {
			return true
		}
		for _, s := range set.Selections {
			if n++; n > MaxSelections {
				return false
			}
			switch s := s.(type) {
			case *ast.Field:
				if !count(s.SelectionSet) {
					return false
				}
			case *ast.InlineFragment:
				if !count(s.SelectionSet) {
					return false
				}
			}
		}
		return true
	}
	for _, d := range doc.Definitions {
		var set *ast.SelectionSet
		switch d := d.(type) {
		case *ast.OperationDefinition:
			set = d.SelectionSet
		case *ast.FragmentDefinition:
			set = d.SelectionSet
		}
		if !count(set) {
			return failf(nil, "query has over %d selections (fields, fragment spreads, inline fragments), the limit", MaxSelections)
		}
	}
	return nil
}
