package taskformat

import (
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

// numericKeywords are the keywords whose numbers the validator makes
// exact fractions of, and so the ones a number it cannot take crashed.
var numericKeywords = []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}

// badNumbers are the numbers of testdata/numbers, each with what its
// message must name: the bound it passes.
var badNumbers = []struct {
	file  string
	limit string
}{
	{"huge-exponent.txt", "must fit a 64-bit float, at most 1.7976931348623157e+308"},
	{"tiny-exponent.txt", "too close to zero for a 64-bit float"},
	{"zero-exponent.txt", "exponent over 10000"},
	{"long-token.txt", "over the limit of 4096 characters for one number"},
}

// numberFile is testdata/numbers/NAME with each placeholder (KEYWORD,
// NUMBER) replaced, and where NUMBER was, as a 1-based line and column.
func numberFile(tb testing.TB, name string, kv ...string) (text string, line, col int) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "numbers", name))
	if err != nil {
		tb.Fatal(err)
	}
	text = string(data)
	number := "NUMBER"
	for i := 0; i < len(kv); i += 2 {
		if kv[i] == "NUMBER" {
			number = kv[i+1]
			continue
		}
		text = strings.ReplaceAll(text, kv[i], kv[i+1])
	}
	if at := strings.Index(text, "NUMBER"); at >= 0 {
		line = strings.Count(text[:at], "\n") + 1
		col = at - strings.LastIndexByte(text[:at], '\n')
	}
	return strings.ReplaceAll(text, "NUMBER", number), line, col
}

func numberToken(tb testing.TB, name string) string {
	tb.Helper()
	text, _, _ := numberFile(tb, name)
	return strings.TrimSpace(text)
}

// TestNumbersInTestFiles checks that a test value no float64 holds,
// checked against a schema with each numeric keyword, is a warning on its
// case at the number, naming the limit, and that the task still loads.
// Before the bound, the validator dereferenced nil and the process died.
func TestNumbersInTestFiles(t *testing.T) {
	for _, kw := range numericKeywords {
		for _, bad := range badNumbers {
			t.Run(kw+"/"+bad.file, func(t *testing.T) {
				token := numberToken(t, bad.file)
				schema, _, _ := numberFile(t, "schema.json.tmpl", "KEYWORD", kw, "NUMBER", "2")
				test, line, col := numberFile(t, "test.json.tmpl", "NUMBER", token)
				dir := t.TempDir()
				writeTree(t, dir, taskFiles(id1, "1.0.0").With("input.schema.json", schema, "tests/one.json", test))
				s := loadDir(t, dir)
				task, ok := s.Task(id1, "1.0.0")
				if !ok || len(s.Errors()) != 0 {
					t.Fatalf("the task did not load:\n%s", sourcetest.Listing(s))
				}
				if len(task.Warnings) != 1 {
					t.Fatalf("got warnings %v, want one", task.Warnings)
				}
				w := task.Warnings[0]
				wantPath := filepath.Join(dir, "tests", "one.json")
				if w.Path != wantPath || w.Line != line || w.Column != col || w.Kind != registry.KindInvalid || !w.Warning() {
					t.Errorf("got %s %s %s:%d:%d, want WARNING INVALID %s:%d:%d", w.Level(), w.Kind, w.Path, w.Line, w.Column, wantPath, line, col)
				}
				if !strings.Contains(w.Message(), bad.limit) {
					t.Errorf("got message %q, want it to name the limit: %q", w.Message(), bad.limit)
				}
				if len(w.Message()) > 300 {
					t.Errorf("got a message of %d bytes, want the number shortened: %.300s", len(w.Message()), w.Message())
				}
				// The runner reads the case with the warning and never
				// runs it; read on its own, the file has the same problem.
				cases, err := NewContent(1 << 20).Tests(task)
				if err != nil || len(cases) != 1 || len(cases[0].Problems) != 1 || cases[0].Problems[0] != w {
					t.Errorf("got cases %+v, %v; want tests/one.json carrying the warning", cases, err)
				}
				tc := parseTestFile("tests/one.json", []byte(test))
				if len(tc.Problems) != 1 || tc.Problems[0].Line != line || tc.Problems[0].Column != col || tc.Problems[0].Message() != w.Message() {
					t.Errorf("parseTestFile: got problems %v, want the same warning", tc.Problems)
				}
			})
		}
	}
}

// TestNumbersInSchemas checks that a schema keyword's number that no
// float64 holds is a load error at the number, naming the limit. Before
// the bound, {"minimum": 1e9999999} was dropped without a word and
// accepted 1, and {"multipleOf": 1e9999999} crashed the compiler.
func TestNumbersInSchemas(t *testing.T) {
	for _, kw := range numericKeywords {
		for _, bad := range badNumbers {
			t.Run(kw+"/"+bad.file, func(t *testing.T) {
				token := numberToken(t, bad.file)
				schema, line, col := numberFile(t, "schema.json.tmpl", "KEYWORD", kw, "NUMBER", token)
				test, _, _ := numberFile(t, "test.json.tmpl", "NUMBER", "1")
				dir := t.TempDir()
				writeTree(t, dir, taskFiles(id1, "1.0.0").With("input.schema.json", schema, "tests/one.json", test))
				s := loadDir(t, dir)
				if _, ok := s.Task(id1, "1.0.0"); ok {
					t.Fatalf("the task loaded, want a load error:\n%s", sourcetest.Listing(s))
				}
				errs := s.Errors()
				if len(errs) != 1 {
					t.Fatalf("got errors %v, want one", errs)
				}
				e := errs[0]
				wantPath := filepath.Join(dir, "input.schema.json")
				if e.Path != wantPath || e.Line != line || e.Column != col || e.Kind != registry.KindSchema || e.Warning() {
					t.Errorf("got %s %s %s:%d:%d, want ERROR SCHEMA %s:%d:%d", e.Level(), e.Kind, e.Path, e.Line, e.Column, wantPath, line, col)
				}
				if !strings.Contains(e.Message(), bad.limit) {
					t.Errorf("got message %q, want it to name the limit: %q", e.Message(), bad.limit)
				}
				// The runner compiles the schemas again in its workers.
				var be *boundError
				if _, err := CompileSchema("input.schema.json", []byte(schema)); !errors.As(err, &be) {
					t.Errorf("CompileSchema: got %v, want the bound", err)
				}
			})
		}
	}
}

// TestCheckNumber draws the bounds' edges: what a float64 holds passes,
// whatever its spelling.
func TestCheckNumber(t *testing.T) {
	tests := []struct {
		token string
		want  string // part of the error; "" for none
	}{
		{"0", ""},
		{"-0.0e-5", ""},
		{"1.7976931348623157e308", ""},
		{"1.8e308", "out of range"},
		{"-1e309", "out of range"},
		{"4.9e-324", ""},
		{"2e-324", "too close to zero"},
		{"0.0000e-999", ""},
		{"0e10000", ""},
		{"0e10001", "exponent over 10000"},
		{"0E+99999999999999999999999999", "exponent over 10000"},
		{"1" + strings.Repeat("0", 308), ""},
		{"1" + strings.Repeat("0", 309), "out of range"},
		{"0." + strings.Repeat("0", 330) + "1", "too close to zero"},
		{"1." + strings.Repeat("0", MaxNumberLength-2), ""},
		{"1." + strings.Repeat("0", MaxNumberLength-1), "over the limit of 4096 characters"},
		{"1e", ""}, // not a number: the parser reports it
	}
	for _, tc := range tests {
		name := tc.token
		if len(name) > 30 {
			name = name[:30]
		}
		t.Run(name, func(t *testing.T) {
			err := checkNumber([]byte(tc.token))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestJSONNumbersSkipsStrings checks that the scan finds numbers where
// JSON has them, and not inside strings, keys or escapes.
func TestJSONNumbersSkipsStrings(t *testing.T) {
	tests := []struct {
		src string
		off int // -1: no error
	}{
		{`{"1e9999999": "1e9999999"}`, -1},
		{`{"a": "\"1e9999999"}`, -1},
		{`[1, 2.5, -3e2, true, null]`, -1},
		{`[1, 2, 1e9999999]`, 7},
		{`{"a\\": 1e400}`, 8},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			err := jsonNumbers([]byte(tc.src))
			var be *boundError
			switch {
			case tc.off < 0 && err != nil:
				t.Errorf("got %v, want none", err)
			case tc.off >= 0 && (!errors.As(err, &be) || be.off != tc.off):
				t.Errorf("got %v, want a bound at offset %d", err, tc.off)
			}
		})
	}
}

// panicFS is a task whose file system panics on one name, as a library
// behind one (a git object store, an archive) might on a hostile file.
type panicFS struct {
	fstest.MapFS
	bad string
}

func (p panicFS) Open(name string) (fs.File, error) {
	if name == p.bad {
		panic("corrupt object " + name)
	}
	return p.MapFS.Open(name)
}

func (p panicFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name == p.bad {
		panic("corrupt object " + name)
	}
	return p.MapFS.ReadDir(name)
}

// TestLoadSurvivesPanic checks that a panic under the loader is an error
// on the file being read, or on the task where no file is, and never
// leaves loadTask.
func TestLoadSurvivesPanic(t *testing.T) {
	tests := []struct {
		bad, path string
		warning   bool // a test file's problem leaves the task served
	}{
		{"main.js", "tasks/r/main.js", false},
		{"tests/one.json", "tasks/r/tests/one.json", true},
		{"tests", "tasks/r", false}, // listing the folder: the last resort's error
	}
	for _, tc := range tests {
		t.Run(tc.bad, func(t *testing.T) {
			fsys := panicFS{MapFS: fstest.MapFS{}, bad: tc.bad}
			for name, content := range taskFiles(id1, "1.0.0") {
				fsys.MapFS[name] = &fstest.MapFile{Data: []byte(content)}
			}
			res := NewLoader().LoadFS(Root{Source: "s", Key: "r", Display: "tasks/r"}, fsys)
			task, errs := res.Task, res.Errors
			if tc.warning && task != nil {
				errs = task.Warnings
			}
			if (task != nil) != tc.warning || len(errs) != 1 {
				t.Fatalf("got task %v, problems %v; want one problem, and the task only when it is a warning", task != nil, errs)
			}
			var pe *registry.PanicError
			if e := errs[0]; e.Path != tc.path || e.Warning() != tc.warning || !errors.As(e, &pe) || !strings.Contains(e.Message(), "corrupt object "+tc.bad) {
				t.Errorf("got %s %v, want one on %s holding the panic", e.Level(), e, tc.path)
			}
		})
	}
}

// TestGuard checks the one helper every library call goes through.
func TestGuard(t *testing.T) {
	v, err := registry.Guard("parse x", func() (int, error) { return 1, nil })
	if v != 1 || err != nil {
		t.Errorf("got %d, %v; want 1, nil", v, err)
	}
	v, err = registry.Guard("parse x", func() (int, error) {
		var got *big.Rat // what the validator compared when SetString failed
		return got.Cmp(big.NewRat(1, 1)), nil
	})
	var pe *registry.PanicError
	if v != 0 || !errors.As(err, &pe) || pe.Op != "parse x" || len(pe.Stack) == 0 || !strings.HasPrefix(err.Error(), "parse x: ") {
		t.Errorf("got %d, %v; want 0 and a registry.PanicError for parse x", v, err)
	}
}
