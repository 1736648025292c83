package taskformat

import "github.com/santhosh-tekuri/jsonschema/v6"

// allDepths stands for "the whole value": deeper than any text that
// json.Valid accepts.
const allDepths = maxValueDepth + 1

// schemaReach is what checking a value against a compiled schema reads of
// it: how deep (0 when only the value itself: its type, its keys, its
// length; 1 when a subschema is applied to its members; -1 when nothing,
// as true and false), and how many subschemas may be applied to one value
// at each depth. Values deeper are never applied a schema to, so the check
// need not build them: {"type": "object"} reads a 4 MiB input's top level
// only. And the validator spends some hundreds of bytes on each value and
// subschema it applies (items: {"type": "integer"} over two million 1s
// took 150 times their text), which the check must count before it starts.
type schemaReach struct {
	depth int
	at    []int // subschemas applied to a value at depth k, at most; past the end, the last
}

// applyBytes is what the validator allocates to apply one subschema to a
// value, about: its state, a big.Rat for a number, the errors of anyOf's
// branches that fail.
const applyBytes = 320

// reachOf finds what s reads. A keyword that compares whole values
// (const, enum, uniqueItems), a reference resolved as the validation goes
// ($dynamicRef, $recursiveRef), a recursive schema or a vocabulary of its
// own reach allDepths.
func reachOf(s *jsonschema.Schema) schemaReach {
	r := schemaReach{depth: -1}
	var prev map[*jsonschema.Schema]bool
	level := inPlace([]*jsonschema.Schema{s})
	for k := 0; len(level) > 0; k++ {
		r.depth = k
		r.at = append(r.at, len(level))
		if k == MaxNesting || sameSchemas(level, prev) {
			// A recursive schema, or one that compares whole values:
			// each depth from here on is like this one.
			r.depth = allDepths
			break
		}
		prev = map[*jsonschema.Schema]bool{}
		var next []*jsonschema.Schema
		for _, sub := range level {
			prev[sub] = true
			if sub.Const != nil || sub.Enum != nil || sub.UniqueItems || sub.DynamicRef != nil || sub.RecursiveRef != nil || len(sub.Extensions) > 0 {
				r.depth = allDepths
				next = append(next, sub) // it reads the members too
			}
			next = append(next, members(sub)...)
		}
		level = inPlace(next)
	}
	return r
}

// sameSchemas reports whether list holds just the schemas of set.
func sameSchemas(list []*jsonschema.Schema, set map[*jsonschema.Schema]bool) bool {
	if len(list) != len(set) {
		return false
	}
	for _, s := range list {
		if !set[s] {
			return false
		}
	}
	return true
}

// applied is how many subschemas may be applied to a value at depth k.
func (r schemaReach) applied(k int) int64 {
	if len(r.at) == 0 {
		return 0
	}
	return int64(r.at[min(k, len(r.at)-1)])
}

// inPlace is the subschemas applied to the same value as any of list
// ($ref, allOf, if, then, ...), list included, each once; booleans read
// nothing and are left out.
func inPlace(list []*jsonschema.Schema) []*jsonschema.Schema {
	seen := map[*jsonschema.Schema]bool{}
	var out []*jsonschema.Schema
	for len(list) > 0 {
		s := list[len(list)-1]
		list = list[:len(list)-1]
		if s == nil || s.Bool != nil || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
		list = append(list, s.Ref, s.Not, s.If, s.Then, s.Else)
		list = append(list, s.AllOf...)
		list = append(list, s.AnyOf...)
		list = append(list, s.OneOf...)
		for _, sub := range s.DependentSchemas {
			list = append(list, sub)
		}
		for _, dep := range s.Dependencies {
			if sub, ok := dep.(*jsonschema.Schema); ok {
				list = append(list, sub)
			}
		}
	}
	return out
}

// members is the subschemas s applies to the members of a value.
// propertyNames is applied to the keys, and contentSchema to a string's
// content: both are the value's own.
func members(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.UnevaluatedProperties, s.Contains, s.Items2020, s.UnevaluatedItems}
	for _, sub := range s.Properties {
		out = append(out, sub)
	}
	for _, sub := range s.PatternProperties {
		out = append(out, sub)
	}
	out = append(out, s.PrefixItems...)
	for _, v := range []any{s.AdditionalProperties, s.Items, s.AdditionalItems} {
		switch v := v.(type) {
		case *jsonschema.Schema:
			out = append(out, v)
		case []*jsonschema.Schema:
			out = append(out, v...)
		}
	}
	return out
}
