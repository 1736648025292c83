package schema

import (
	"context"
	"strings"
	"testing"

	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestEverythingDescribed walks the schema as a client sees it, through
// introspection, and fails on any type, field, argument or enum value
// without a description: GraphiQL and every client show them, and fields
// added later are held to the same rule.
func TestEverythingDescribed(t *testing.T) {
	s, err := New(Deps{Content: taskformat.NewContent(1 << 10), Feed: registry.NewFeed(1, 1),
		Reload: func(context.Context) (int64, error) { return 0, nil }})
	if err != nil {
		t.Fatal(err)
	}
	const q = `{ __schema { types { name description
		fields { name description args { name description } }
		enumValues { name description } } } }`
	res := graphql.Do(graphql.Params{Schema: s, RequestString: q})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	type named struct{ Name, Description string }
	var missing []string
	var counted int
	check := func(where string, n named) {
		counted++
		if strings.TrimSpace(n.Description) == "" {
			missing = append(missing, where)
		}
	}
	for _, ty := range res.Data.(map[string]any)["__schema"].(map[string]any)["types"].([]any) {
		ty := ty.(map[string]any)
		name := ty["name"].(string)
		if strings.HasPrefix(name, "__") {
			continue // introspection's own types, described by graphql-go
		}
		desc, _ := ty["description"].(string)
		check(name, named{name, desc})
		fields, _ := ty["fields"].([]any)
		for _, f := range fields {
			f := f.(map[string]any)
			fd, _ := f["description"].(string)
			check(name+"."+f["name"].(string), named{f["name"].(string), fd})
			for _, a := range f["args"].([]any) {
				a := a.(map[string]any)
				ad, _ := a["description"].(string)
				check(name+"."+f["name"].(string)+"("+a["name"].(string)+")", named{a["name"].(string), ad})
			}
		}
		values, _ := ty["enumValues"].([]any)
		for _, v := range values {
			v := v.(map[string]any)
			vd, _ := v["description"].(string)
			check(name+"."+v["name"].(string), named{v["name"].(string), vd})
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d types, fields, arguments and enum values have no description:\n%s", len(missing), counted, strings.Join(missing, "\n"))
	}
	if counted < 80 {
		t.Errorf("walked only %d names: the introspection query missed part of the schema", counted)
	}
}
