package taskformat

import (
	"encoding/json"
	"reflect"
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
	schemas := []string{
		`{"type": "object"}`,
		`{"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}}`,
		`{"type": "array", "uniqueItems": true}`,
		`{"type": "array", "items": {"type": "number", "multipleOf": 0.5}}`,
		`{"properties": {"a": {"const": {"b": [1, "x", null]}}}, "required": ["a"], "additionalProperties": false}`,
		`{"type": "array", "items": {"enum": [0, 1, 255, 256, "é", "\u0000", true, {}, []]}}`,
		`{"type": "array", "items": {"type": "string", "pattern": "^[a-z]*$", "maxLength": 2}}`,
		`{"type": "object", "propertyNames": {"maxLength": 1}, "minProperties": 2}`,
	}
	texts := []string{
		`{}`, `[]`, `null`, `true`, `0`, `-0`, `255`, `256`, `1.0`, `1e2`, `-1`, `"s"`,
		`[0, 1, 255, 256, 999, -0, 0.5, 1e2, 1E+2, 12345678901234567890, 1.5e-300]`,
		`[1, 1]`, `[{}, {}]`, `[[], []]`, `[1, 1.0]`,
		`{"a": {"b": [1, "x", null]}}`, `{"a": {"b": [1, "x", null]}, "c": 1}`, `{"a": {"b": [1, "x"]}}`,
		`["ab", "abc", "AB", "a\"b", "\u00e9", "\ud83d\ude00", "\ud800", "tab\there", ""]`,
		` { "a" : 1 , "a" : 2 , "bb" : [ ] , "c" : { } } `,
		"[\n\t1 ,\r\n2\n]",
		`{"x": [{"a": {"a": 1}}, [[[]]], [{}], {"": ""}]}`,
	}
	for i, st := range schemas {
		sch, err := CompileSchema("s.json", []byte(st))
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range texts {
			t.Run(strconv.Itoa(i)+"/"+text, func(t *testing.T) {
				want, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
				if err != nil {
					t.Fatal(err)
				}
				got := decodeJSON([]byte(text), measureJSON([]byte(text)))
				if !reflect.DeepEqual(asNumbers(got), want) {
					t.Errorf("got %#v, want %#v", got, want)
				}
				wantErr, gotErr := sch.Validate(want), ValidateJSON(sch, json.RawMessage(text))
				if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && SchemaErrorMessage(gotErr) != SchemaErrorMessage(wantErr)) {
					t.Errorf("got %v, want %v", gotErr, wantErr)
				}
			})
		}
	}
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
