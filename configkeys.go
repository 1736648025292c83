package main

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
	entryType    = reflect.TypeFor[SourceEntry]()
)

// A walker checks a YAML document of file against the Go type it will be
// decoded into, before yaml.v3 does, because yaml.v3 reports unknown keys
// and bad values with Go's type names. It records the line of every key
// in where, reports each unknown key with the nearest known one, and
// rewrites a bare 0 given for a duration as "0s", which yaml.v3 would
// refuse.
type walker struct {
	file  string
	where map[string]string
}

// at is the place of n: FILE:LINE.
func (w walker) at(n *yaml.Node) string { return w.file + ":" + strconv.Itoa(n.Line) }

// bad is one problem of the value at n, whose key is path.
func (w walker) bad(n *yaml.Node, path, msg string) []error {
	return []error{&configError{Where: w.at(n), Key: path, Msg: msg}}
}

// walk checks n, the value of the key path, against t.
func (w walker) walk(n *yaml.Node, t reflect.Type, path string) []error {
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return w.bad(n, path, "want a duration such as 50ms, 2s or 1m")
		}
		if n.Tag == "!!int" || n.Tag == "!!float" {
			if v, err := strconv.ParseFloat(n.Value, 64); err == nil && v == 0 {
				n.Tag, n.Value = "!!str", "0s"
				return nil
			}
			return w.bad(n, path, fmt.Sprintf("is %s without a unit: write %sms, %ss or %sm", n.Value, n.Value, n.Value, n.Value))
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			return w.bad(n, path, fmt.Sprintf("is %q: want a duration such as 50ms, 2s or 1m", n.Value))
		}
	case t == entryType:
		return w.entry(n, path)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return w.bad(n, path, "want a mapping of keys to values")
		}
		return w.fields(n, yamlFields(t), path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return w.bad(n, path, "want a list")
		}
		var errs []error
		for i, item := range n.Content {
			key := fmt.Sprintf("%s[%d]", path, i)
			w.where[key] = w.at(item)
			sub := w.walk(item, t.Elem(), key)
			errs = append(errs, sub...)
			if refusesItself(sub, key) {
				// Emptied rather than dropped, so that the items after it
				// keep their numbers in messages.
				*item = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: item.Line, Column: item.Column}
				if t.Elem().Kind() == reflect.Struct {
					*item = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: item.Line, Column: item.Column}
				}
			}
		}
		return errs
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return w.bad(n, path, "want a mapping of names to values")
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64 || t.Kind() == reflect.Float64:
		if err := checkNumber(w.at(n), path, n, t.Kind() == reflect.Float64); err != nil {
			return []error{err}
		}
	case t.Kind() == reflect.Bool:
		// yaml.v3 takes YAML 1.1's yes, no, on and off for a bool too.
		old := n.Style == 0 && slices.Contains([]string{"y", "yes", "on", "n", "no", "off"}, strings.ToLower(n.Value))
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" && n.Tag != "!!null" && !old {
			return w.bad(n, path, fmt.Sprintf("is %q: want true or false", n.Value))
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			return w.bad(n, path, "want a single value, not a list or a mapping")
		}
	}
	return nil
}

// entry walks an entry of registry.sources against the keys of the kind
// its type names, and type.
func (w walker) entry(n *yaml.Node, path string) []error {
	if n.Kind != yaml.MappingNode {
		return w.bad(n, path, "want a mapping of keys to values")
	}
	typ, ok := typeOf(n)
	if !ok {
		typ.Line = n.Line
	}
	k, known := kindOf(registry.SourceType(typ.Value))
	if typ.Kind != yaml.ScalarNode && ok || !known {
		// Its other keys are not known before its kind is.
		return w.bad(typ, path+".type", fmt.Sprintf("is %q: want %s", typ.Value, kindNames()))
	}
	fields := append([]field{{"type", reflect.TypeFor[string]()}}, yamlFields(reflect.TypeOf(k.New()).Elem())...)
	return w.fields(n, fields, path)
}

// field is a key of a mapping and the Go type of its value.
type field struct {
	name string
	t    reflect.Type
}

// yamlFields lists the keys of a struct, in order.
func yamlFields(t reflect.Type) []field {
	var fields []field
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields = append(fields, field{name, f.Type})
		}
	}
	return fields
}

// fields walks a mapping against its known keys: it reports each unknown
// key with the nearest known one, and drops each value that refuses
// itself.
func (w walker) fields(n *yaml.Node, fields []field, path string) []error {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	var errs []error
	var bad []int
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if path != "" {
			key = path + "." + k.Value
		}
		j := slices.Index(names, k.Value)
		if j < 0 {
			msg := "is not a known key"
			if near := nearest(k.Value, names); near != "" {
				msg += fmt.Sprintf("; did you mean %s?", near)
			} else {
				msg += "; known keys: " + strings.Join(names, ", ")
			}
			errs = append(errs, &configError{Where: w.at(k), Key: key, Msg: msg, unknown: true})
			continue
		}
		w.where[key] = w.at(k)
		sub := w.walk(v, fields[j].t, key)
		errs = append(errs, sub...)
		if refusesItself(sub, key) {
			// Dropped, so that the default stays and every other
			// value is still decoded and checked in this same run.
			bad = append(bad, i)
		}
	}
	for _, i := range slices.Backward(bad) {
		n.Content = slices.Delete(n.Content, i, i+2)
	}
	return errs
}

// refusesItself reports whether errs, from walking the value at key,
// refuse that value itself rather than something inside it.
func refusesItself(errs []error, key string) bool {
	for _, e := range errs {
		if ce, ok := e.(*configError); ok && !ce.unknown && ce.Key == key {
			return true
		}
	}
	return false
}

// checkNumber checks a value given for a number before yaml.v3 would
// refuse it in Go's words. YAML's own numbers pass (1_000, 0x10, 1e3 for
// a whole number), and so does an empty value, which keeps the default.
func checkNumber(where, path string, n *yaml.Node, float bool) error {
	want := "a whole number such as 4"
	if float {
		want = "a number such as 0.5"
	}
	if n.Kind != yaml.ScalarNode {
		return &configError{Where: where, Key: path, Msg: fmt.Sprintf("want %s, not a list or a mapping", want)}
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!int":
		return nil
	case "!!float":
		v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if float || err == nil && v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return nil
		}
	case "!!str":
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return &configError{Where: where, Key: path, Msg: fmt.Sprintf("is the string %q: write %s without quotes", n.Value, n.Value)}
			}
		}
	}
	return &configError{Where: where, Key: path, Msg: fmt.Sprintf("is %q: want %s", n.Value, want)}
}

// nearest returns the candidate closest to s in edit distance, when it is
// close enough to be the key that was meant.
func nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := taskformat.EditDistance(strings.ToLower(s), c)
		if strings.HasPrefix(strings.ToLower(s), c) || strings.HasPrefix(c, strings.ToLower(s)) {
			d = min(d, 1) // address for addr, poll for poll_interval
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if bestD > max(2, len(s)/2) {
		return ""
	}
	return best
}
