package taskformat

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestCheckSeesWhatTheValidatorsDecoderMakes holds decodeJSON to
// jsonschema.UnmarshalJSON: the same values (an int under 256 standing for
// the json.Number of the same digits) and the same verdict and message
// from schemas that read every kind of value.
func TestCheckSeesWhatTheValidatorsDecoderMakes(t *testing.T) {
	for i, st := range checkSchemas {
		sch, err := CompileSchema("s.json", []byte(st))
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range checkTexts {
			t.Run(strconv.Itoa(i)+"/"+text, func(t *testing.T) { sameCheck(t, sch, text) })
		}
	}
}

// FuzzCheck holds ValidateJSON, which builds only what the schema reads,
// to the validator on jsonschema.UnmarshalJSON's values.
func FuzzCheck(f *testing.F) {
	for _, st := range checkSchemas {
		for _, text := range checkTexts {
			f.Add(st, text)
		}
	}
	f.Fuzz(func(t *testing.T, schema, text string) {
		sch, err := CompileSchema("s.json", []byte(schema))
		if err != nil || jsonNumbers([]byte(text)) != nil {
			return
		}
		if _, err := jsonschema.UnmarshalJSON(strings.NewReader(text)); err != nil {
			return
		}
		sameCheck(t, sch, text)
	})
}

// sameCheck compares decodeJSON's values and ValidateJSON's verdict with
// those of jsonschema.UnmarshalJSON's values.
func sameCheck(t *testing.T, sch *jsonschema.Schema, text string) {
	t.Helper()
	want, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON([]byte(text), measureJSON([]byte(text), schemaReach{depth: allDepths}, 0))
	if !reflect.DeepEqual(asNumbers(got), want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	wantErr, gotErr := sch.Validate(want), ValidateJSON(sch, json.RawMessage(text))
	// The validator lists an error's causes in map order: the same
	// errors, in any order.
	if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && errorLines(gotErr) != errorLines(wantErr)) {
		t.Errorf("got %v, want %v", gotErr, wantErr)
	}
}

var (
	checkSchemas = []string{
		`{"type": "object"}`,
		`{"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}}`,
		`{"type": "array", "uniqueItems": true}`,
		`{"type": "array", "items": {"type": "number", "multipleOf": 0.5}}`,
		`{"properties": {"a": {"const": {"b": [1, "x", null]}}}, "required": ["a"], "additionalProperties": false}`,
		`{"type": "array", "items": {"enum": [0, 1, 255, 256, "é", "\u0000", true, {}, []]}}`,
		`{"type": "array", "items": {"type": "string", "pattern": "^[a-z]*$", "maxLength": 2}}`,
		`{"type": "object", "propertyNames": {"maxLength": 1}, "minProperties": 2}`,
		`{"properties": {"x": {"items": [{"type": "object"}, {"required": ["a"]}], "additionalItems": {"type": "array", "maxItems": 0}}}}`,
		`{"patternProperties": {"^a": {"properties": {"b": {"items": {"type": "string"}}}}}, "additionalProperties": {"type": "integer"}}`,
		`{"if": {"required": ["a"]}, "then": {"properties": {"a": {"properties": {"b": {"type": "array", "minItems": 3}}}}}, "else": {"maxProperties": 1}}`,
		`{"dependencies": {"a": {"properties": {"c": {"type": "integer"}}}, "c": ["x"]}, "items": {"contains": {"type": "null"}}}`,
		`{"$ref": "#/definitions/t", "definitions": {"t": {"type": ["object", "array", "integer", "string", "null"], "additionalProperties": {"$ref": "#/definitions/t"}, "items": {"$ref": "#/definitions/t"}}}}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"a": true}, "unevaluatedProperties": {"type": "object", "properties": {"b": {"type": "array", "prefixItems": [{"type": "integer"}], "items": false}}}}`,
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "items": {"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"a": {"not": {"type": "string"}}}}]}}`,
		`{"properties": {"x": {"items": {"properties": {"a": {"properties": {"a": {"minProperties": 1}}}}}}}}`,
		`true`, `false`,
	}
	checkTexts = []string{
		`{}`, `[]`, `null`, `true`, `0`, `-0`, `255`, `256`, `1.0`, `1e2`, `-1`, `"s"`,
		`[0, 1, 255, 256, 999, -0, 0.5, 1e2, 1E+2, 12345678901234567890, 1.5e-300]`,
		`[1, 1]`, `[{}, {}]`, `[[], []]`, `[1, 1.0]`,
		`{"a": {"b": [1, "x", null]}}`, `{"a": {"b": [1, "x", null]}, "c": 1}`, `{"a": {"b": [1, "x"]}}`,
		`["ab", "abc", "AB", "a\"b", "\u00e9", "\ud83d\ude00", "\ud800", "tab\there", ""]`,
		` { "a" : 1 , "a" : 2 , "bb" : [ ] , "c" : { } } `,
		"[\n\t1 ,\r\n2\n]",
		`{"x": [{"a": {"a": 1}}, [[[]]], [{}], {"": ""}]}`,
		`{"x": [{"a": {"a": {}}}, {"a": {"a": {"b": 1}}}], "a": {"b": [1, 2]}, "ab": {"b": ["x", 1]}, "c": 1.5}`,
		`{"x": [{}, {"a": 1}, [1]], "a": {"b": [[], [], []]}, "c": 2}`,
		`{"x": [{}, {"b": 1}], "y": [true]}`,
		`[[null], [1], [{"a": "s"}], {"a": 1}]`,
		`{"a": 1, "b": [1, [2], {"a": "x"}], "c": {"b": [1, {"q": true}]}}`,
	}
)

// TestSchemaReach: how deep a check reads a value, and how many
// subschemas it may apply to one value at each depth.
func TestSchemaReach(t *testing.T) {
	tests := []struct {
		schema string
		depth  int
		at     []int
	}{
		{`true`, -1, nil},
		{`{}`, -1, nil}, // compiled as true
		{`{"type": "object"}`, 0, []int{1}},
		{`{"properties": {"x": {"items": {"type": "integer"}}}}`, 2, []int{1, 1, 1}},
		{`{"properties": {"x": {"items": true}}}`, 1, []int{1, 1}},
		{`{"allOf": [{"properties": {"a": {}}}, {"$ref": "#/definitions/d"}], "definitions": {"d": {"additionalProperties": {"required": ["b"]}}}}`, 1, []int{4, 1}},
		{`{"properties": {"x": {"const": 1}}}`, allDepths, nil},
		{`{"items": {"$ref": "#"}}`, allDepths, nil},
	}
	for _, tc := range tests {
		sch, err := CompileSchema("s.json", []byte(tc.schema))
		if err != nil {
			t.Fatal(err)
		}
		r := reachOf(sch)
		if r.depth != tc.depth || (tc.at != nil && !reflect.DeepEqual(r.at, tc.at)) {
			t.Errorf("%s: got depth %d, applied %v; want %d, %v", tc.schema, r.depth, r.at, tc.depth, tc.at)
		}
	}
}

// errorLines lists the places and kinds of an error's causes, sorted:
// the validator lists causes, and the names in some messages, in map
// order.
func errorLines(err error) string {
	var lines []string
	var walk func(ve *jsonschema.ValidationError)
	walk = func(ve *jsonschema.ValidationError) {
		lines = append(lines, fmt.Sprintf("%q %T", ve.InstanceLocation, ve.ErrorKind))
		for _, c := range ve.Causes {
			walk(c)
		}
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	walk(ve)
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// asNumbers turns the ints decodeJSON makes into the json.Numbers
// UnmarshalJSON makes.
func asNumbers(v any) any {
	switch v := v.(type) {
	case int:
		return json.Number(strconv.Itoa(v))
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = asNumbers(v[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = asNumbers(e)
		}
		return out
	}
	return v
}

// TestCheckOfInvalidTextKeepsItsError: text the decoder does not take
// (the runner checks what a script returns) fails as it did, with the
// validator's decoder's error.
func TestCheckOfInvalidTextKeepsItsError(t *testing.T) {
	sch, err := CompileSchema("s.json", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{`{"a": }`, `[1] [2]`, `007`, strings.Repeat("[", maxValueDepth+1) + strings.Repeat("]", maxValueDepth+1)} {
		_, want := jsonschema.UnmarshalJSON(strings.NewReader(text))
		got := ValidateJSON(sch, json.RawMessage(text))
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%.20s: got %v, want %v", text, got, want)
		}
	}
}
