package taskformat

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FuzzParseMetadata feeds arbitrary metadata.json to the loader: it must
// never panic, and must either load or explain itself with a position
// inside the file.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		taskFiles(id1, "1.0.0")["metadata.json"],
		`{"uuid": "` + id1 + `", "version": "v1.0.0", "label": "x"}`,
		`{"uuid": 1, "version": null, "label": []}`,
		"{\n\"uuid\": \"\u00e9\u00e9\"",
		`[]`, ``, `{"version": "1.0.0-rc.1+build.5"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Only metadata.json is checked here, so that each run is cheap;
		// FuzzOpenZip covers whole tasks.
		fsys := fstest.MapFS{metadataFile: &fstest.MapFile{Data: data}}
		l := &taskLoad{in: loadInput{loader: NewLoader(), fsys: fsys, source: "fuzz", root: ".", display: "t", sep: "/"}, sums: map[string][32]byte{}, task: &registry.Task{}}
		l.metadata()
		for _, e := range l.errs {
			if e.Path != "t/metadata.json" {
				t.Fatalf("got error on %s, want metadata.json: %v", e.Path, e)
			}
			if e.Line > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("line %d is past the end of the file: %v", e.Line, e)
			}
		}
		if len(l.errs) == 0 && (l.task.ID == "" || l.task.Version == "" || l.task.Label == "") {
			t.Fatalf("no error, but no identity either: %+v", l.task)
		}
	})
}

// FuzzOpenZip feeds arbitrary bytes as a task archive: no panic, no hang,
// and any archive accepted must have passed every entry check.
func FuzzOpenZip(f *testing.F) {
	f.Add(zipBytes(f, taskFiles(id1, "1.0.0")))
	f.Add(zipBytes(f, taskFiles(id1, "1.0.0").Under("x/y")))
	f.Add(rawZip(f, zipEntry{"../evil", []byte("x")}, zipEntry{"metadata.json", nil}))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys, _, err := openZip(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		task, errs := loadTask(loadInput{loader: NewLoader(), fsys: fsys, source: "fuzz", root: ".", display: "t.zip", sep: "!/", maxFile: MaxFileSize})
		if (task == nil) == (len(errs) == 0) {
			t.Fatalf("got task %v and errors %v: want exactly one", task, errs)
		}
	})
}

// FuzzScript feeds arbitrary main.js to the nesting scan and then, when
// the scan lets it through, to goja's parser: a stack overflow there
// kills the process, so any input that passes the scan must parse or fail
// with an error, never crash.
func FuzzScript(f *testing.F) {
	for _, s := range []string{
		taskFiles(id1, "1.0.0")["main.js"],
		"(function(input) { return `${input.a}` + /[(]/.source + '(' // (\n})",
		"if (x) /re/.test(y); else z = a ? b : c ? d : e",
		strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300),
		strings.Repeat("!", 2000) + "x",
		"a = b\n= c\n= d",
		"x = function(){} / ((1)) / 2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{scriptFile: &fstest.MapFile{Data: data}}
		l := &taskLoad{in: loadInput{loader: NewLoader(), fsys: fsys, source: "fuzz", root: ".", display: "t", sep: "/"}, sums: map[string][32]byte{}, task: &registry.Task{}}
		l.script()
		for _, e := range l.errs {
			if e.Path != "t/main.js" {
				t.Fatalf("got error on %s, want main.js: %v", e.Path, e)
			}
		}
	})
}

// FuzzSchema feeds arbitrary input.schema.json to the loader: no crash,
// no compilation that runs away, and every error on that file.
func FuzzSchema(f *testing.F) {
	for _, s := range []string{
		taskFiles(id1, "1.0.0")["input.schema.json"],
		`{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`,
		`{"properties": {"a": {"properties": {"b": {"items": [{"$ref": "#"}]}}}}}`,
		`{"$ref": "https://example.com/x.json"}`,
		`{"type": "objekt"}`,
		deepSchema(200),
		wideSchema(100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{inputSchema: &fstest.MapFile{Data: data}}
		l := &taskLoad{in: loadInput{loader: NewLoader(), fsys: fsys, source: "fuzz", root: ".", display: "t", sep: "/"}, sums: map[string][32]byte{}, task: &registry.Task{}, schema: map[string]*jsonschema.Schema{}}
		raw := l.jsonSchema(inputSchema)
		for _, e := range l.errs {
			if e.Path != "t/input.schema.json" {
				t.Fatalf("got error on %s, want input.schema.json: %v", e.Path, e)
			}
			if e.Line > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("line %d is past the end of the file: %v", e.Line, e)
			}
		}
		if (raw == nil) == (len(l.errs) == 0) {
			t.Fatalf("got schema %q and errors %v: want exactly one", raw, l.errs)
		}
	})
}

// FuzzTestFile feeds a test file and an input schema, seeded with every
// numeric keyword and numbers no float64 holds, to the loader's check of
// test cases: the validator once dereferenced nil on 1e9999999, so no
// pair may panic, a problem in the test file is a warning on it, and any
// other is an error on the schema.
func FuzzTestFile(f *testing.F) {
	huge := []string{"1e9999999", "-1e-9999999", "0e99999999999999999999", "1e400", strings.Repeat("9", 10_000)}
	for _, kw := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} {
		schema := `{"type": "object", "properties": {"a": {"` + kw + `": 3}}}`
		for _, n := range huge {
			f.Add([]byte(schema), []byte(`{"input": {"a": `+n+`}, "expected_output": {"a": `+n+`}}`))
			f.Add([]byte(`{"properties": {"a": {"`+kw+`": `+n+`}}}`), []byte(`{"input": {"a": 1}}`))
		}
		f.Add([]byte(schema), []byte(`{"input": {"a": 6.0}}`))
	}
	f.Add([]byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"a": {"uniqueItems": true, "multipleOf": 0.5}}}`),
		[]byte(`{"input": {"a": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 1e9999999]}}`))
	f.Fuzz(func(t *testing.T, schema, test []byte) {
		fsys := fstest.MapFS{
			inputSchema:      &fstest.MapFile{Data: schema},
			outputSchema:     &fstest.MapFile{Data: []byte(`{"properties": {"a": {"maximum": 1e300, "multipleOf": 1e-300}}}`)},
			"tests/one.json": &fstest.MapFile{Data: test},
		}
		l := &taskLoad{in: loadInput{loader: NewLoader(), fsys: fsys, source: "fuzz", root: ".", display: "t", sep: "/"}, sums: map[string][32]byte{}, task: &registry.Task{}, schema: map[string]*jsonschema.Schema{}}
		l.jsonSchema(inputSchema)
		l.jsonSchema(outputSchema)
		l.tests()
		for _, e := range l.errs {
			if e.Path != "t/input.schema.json" {
				t.Fatalf("got error on %s, want input.schema.json: %v", e.Path, e)
			}
		}
		for _, w := range l.warns {
			if w.Path != "t/tests/one.json" || !w.Warning() {
				t.Fatalf("got %s on %s, want a warning on tests/one.json: %v", w.Level(), w.Path, w)
			}
			if w.Line > bytes.Count(test, []byte{'\n'})+1 {
				t.Fatalf("line %d is past the end of the file: %v", w.Line, w)
			}
			var pe *registry.PanicError
			if errors.As(w, &pe) {
				t.Fatalf("the validator panicked: %v\n%s", pe, pe.Stack)
			}
		}
	})
}
