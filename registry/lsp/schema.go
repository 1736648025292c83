package lsp

import (
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat/taskschema"
)

// schemas are the embedded JSON Schemas of metadata.json and test files,
// decoded once per session; hover and completion read descriptions and
// keys from them, so that the editor says what `schemas` writes.
type schemas struct {
	metadata, test map[string]any
}

func loadSchemas() (schemas, error) {
	var s schemas
	for _, x := range []struct {
		name string
		into *map[string]any
	}{{"metadata.json", &s.metadata}, {"test.json", &s.test}} {
		data, err := taskschema.File(x.name)
		if err != nil {
			return s, err
		}
		if err := json.Unmarshal(data, x.into); err != nil {
			return s, fmt.Errorf("embedded schema %s: %w", x.name, err)
		}
	}
	return s, nil
}

// forFile is the schema of a file by its place in a task: metadata.json,
// or a .json file in a tests folder; nil for any other.
func (s schemas) forFile(p string) map[string]any {
	base := filepath.Base(p)
	switch {
	case base == "metadata.json":
		return s.metadata
	case filepath.Base(filepath.Dir(p)) == "tests" && path.Ext(base) == ".json":
		return s.test
	}
	return nil
}

// at is the schema of the value that path leads to from the top of
// schema, through properties, items, $ref and the alternatives of
// oneOf/anyOf; nil where the schema says nothing.
func at(schema map[string]any, keys []string) map[string]any {
	node := schema
	for _, k := range keys {
		node = step(schema, node, k)
		if node == nil {
			return nil
		}
	}
	return resolve(schema, node)
}

func step(schema, node map[string]any, key string) map[string]any {
	node = resolve(schema, node)
	if node == nil {
		return nil
	}
	if key == "[]" {
		if items, ok := node["items"].(map[string]any); ok {
			return items
		}
	} else if props, ok := node["properties"].(map[string]any); ok {
		if p, ok := props[key].(map[string]any); ok {
			return p
		}
	}
	for _, alt := range alternatives(node) {
		if n := step(schema, alt, key); n != nil {
			return n
		}
	}
	return nil
}

func alternatives(node map[string]any) []map[string]any {
	var out []map[string]any
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		list, _ := node[k].([]any)
		for _, a := range list {
			if m, ok := a.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// resolve follows a local $ref, as the embedded schemas use them.
func resolve(schema, node map[string]any) map[string]any {
	for range 8 { // a ref to a ref, bounded
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		name, ok := strings.CutPrefix(ref, "#/definitions/")
		defs, _ := schema["definitions"].(map[string]any)
		next, found := defs[name].(map[string]any)
		if !ok || !found {
			return nil
		}
		node = next
	}
	return nil
}

// property is one key an object may hold.
type property struct {
	name, description string
}

// properties lists the keys of the object at node, its alternatives'
// included, in name order.
func properties(schema, node map[string]any) []property {
	node = resolve(schema, node)
	if node == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []property
	var add func(n map[string]any)
	add = func(n map[string]any) {
		n = resolve(schema, n)
		if n == nil {
			return
		}
		props, _ := n["properties"].(map[string]any)
		for k, v := range props {
			if seen[k] {
				continue
			}
			seen[k] = true
			m, _ := v.(map[string]any)
			out = append(out, property{name: k, description: description(schema, m)})
		}
		for _, a := range alternatives(n) {
			add(a)
		}
	}
	add(node)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func description(schema, node map[string]any) string {
	node = resolve(schema, node)
	d, _ := node["description"].(string)
	return d
}
