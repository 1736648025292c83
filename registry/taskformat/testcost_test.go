package taskformat

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// bigInputs are test files' inputs of about 4 MiB, within the 5 MiB limit
// of one file, each a shape that costs the validator's values the most for
// its bytes.
func bigInputs() []struct {
	name, input string
	checked     bool // checked at load against a schema that reads every value
} {
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	var keys strings.Builder
	keys.WriteString("{")
	for i := range 300_000 {
		fmt.Fprintf(&keys, `"k%d":1,`, i)
	}
	keys.WriteString(`"z":1}`)
	return []struct {
		name, input string
		checked     bool
	}{
		{"many small numbers", `{"a": 1, "b": 2, "x": [` + strings.Repeat("1,", 2<<20) + `1]}`, false},
		{"many large numbers", `{"x": [` + strings.Repeat("123456789.5,", 350_000) + `1]}`, false},
		{"deep objects", `{"x": [` + strings.Repeat(deep+",", 4<<20/len(deep)) + `1]}`, false},
		{"small objects", `{"x": [` + strings.Repeat(`{"a":1},`, 500_000) + `1]}`, false},
		{"empty objects and arrays", `{"x": [` + strings.Repeat(`{},[],`, 650_000) + `1]}`, false},
		{"a long string", `{"x": "` + strings.Repeat("x", 4<<20) + `"}`, true},
		{"many short strings", `{"x": [` + strings.Repeat(`"ab",`, 800_000) + `"a"]}`, false},
		{"many keys", keys.String(), false},
	}
}

// Schemas for bigInputs: one that reads the top of the input only, and one
// that applies a subschema to every value in it.
const (
	topSchema = `{"type": "object"}`
	allSchema = `{"$ref": "#/definitions/v", "definitions": {"v": {"type": ["object", "array", "string", "number", "null"],
		"additionalProperties": {"$ref": "#/definitions/v"}, "items": {"$ref": "#/definitions/v"}}}}`
)

// TestLoadingTestFilesCostsAboutTheirSize: a task whose test file is large
// loads with allocations in proportion to the file's bytes. A test file of
// two million 1s (4 MiB) allocated 71 times its size: each of
// jsonschema.UnmarshalJSON (for the schema check) and objectKeys, three
// times, decoded the whole file; against a schema that reads every value,
// the validator spent 150 times more. Now a check builds only the values
// its schema reads, and one that would still take more than CheckFactor
// times its bytes is not made at load: advice on the case names the limit,
// and the case runs (its worker checks it).
func TestLoadingTestFilesCostsAboutTheirSize(t *testing.T) {
	const bound = 32 // times the file's bytes
	for _, tc := range bigInputs() {
		for _, schema := range []string{topSchema, allSchema} {
			name := tc.name + "/reads the top"
			if schema == allSchema {
				name = tc.name + "/reads every value"
			}
			t.Run(name, func(t *testing.T) {
				test := `{"input": ` + tc.input + `, "expected_output": {"sum": 3}}`
				dir := t.TempDir()
				writeTree(t, dir, taskFiles(id1, "1.0.0").With("input.schema.json", schema, "tests/big.json", test))
				ld := NewLoader()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				res := ld.LoadDir(Root{Source: "s", Key: ".", Display: dir}, DirFS(dir))
				runtime.ReadMemStats(&after)
				if len(res.Errors) > 0 || res.Task == nil {
					t.Fatalf("got load errors %v, want none", res.Errors)
				}
				n := after.TotalAlloc - before.TotalAlloc
				t.Logf("%d bytes allocated, %.1f times the file", n, float64(n)/float64(len(test)))
				if limit := uint64(bound * len(test)); n > limit {
					t.Errorf("loading a test file of %d bytes allocated %d bytes (%.1f times), want at most %d times",
						len(test), n, float64(n)/float64(len(test)), bound)
				}
				var got []string
				for _, w := range res.Task.Warnings {
					got = append(got, w.Message())
				}
				switch unchecked := schema == allSchema && !tc.checked; {
				case unchecked && (len(got) != 1 || !strings.Contains(got[0], "input is not checked against input.schema.json at load") ||
					!strings.Contains(got[0], "16 times its size") || !res.Task.Warnings[0].Advice):
					t.Errorf("got warnings %q, want advice that the input is not checked, naming the limit", got)
				case !unchecked && len(got) != 0:
					t.Errorf("got warnings %q, want none", got)
				}
			})
		}
	}
}

// BenchmarkLoadBigTestFile loads a task with one test file of two million
// 1s (4 MiB) against reading the same files (BenchmarkLoadBigTestFile/read):
// the ratio of their B/op is what the loader spends on a test file.
func BenchmarkLoadBigTestFile(b *testing.B) {
	test := `{"input": {"a": 1, "b": 2, "x": [` + strings.Repeat("1,", 2<<20) + `1]}, "expected_output": {"sum": 3}}`
	dir := b.TempDir()
	writeTree(b, dir, taskFiles(id1, "1.0.0").With("input.schema.json", `{"type": "object"}`, "tests/big.json", test))
	names := []string{"metadata.json", "input.schema.json", "output.schema.json", "main.js", "tests/big.json"}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(test)))
		b.ReportAllocs()
		for b.Loop() {
			for _, n := range names {
				if _, err := os.ReadFile(filepath.Join(dir, n)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("load", func(b *testing.B) {
		b.SetBytes(int64(len(test)))
		b.ReportAllocs()
		ld := NewLoader()
		for b.Loop() {
			if res := ld.LoadDir(Root{Source: "s", Key: ".", Display: dir}, DirFS(dir)); res.Task == nil {
				b.Fatal(res.Errors)
			}
		}
	})
}

// TestTestFilesOverTheirBudget: a task's test files are read in name order
// until they pass the budget for one task's test files; the rest are not
// read, each a case with a warning naming the budget, and the task loads.
func TestTestFilesOverTheirBudget(t *testing.T) {
	one := `{"input": {"a": 1}, "expected_output": {}}` // 42 bytes
	tests := []struct {
		name     string
		limit    int64
		unread   []string
		problems int
	}{
		{"all within", 3 * int64(len(one)), nil, 0},
		{"the third over", 3*int64(len(one)) - 1, []string{"tests/c.json"}, 1},
		{"every one after the first over", int64(len(one)) + 1, []string{"tests/b.json", "tests/c.json"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, taskFiles(id1, "1.0.0").With("tests/one.json", "", "tests/a.json", one, "tests/b.json", one, "tests/c.json", one))
			fsys := DirFS(dir)
			open := func() (fs.FS, io.Closer, error) { return fsys, io.NopCloser(nil), nil }
			task, errs := loadTask(loadInput{loader: NewLoader(), fsys: fsys, open: open, source: "s", root: ".", display: dir, sep: "/", maxTests: tc.limit})
			if task == nil {
				t.Fatalf("got errors %v, want the task loaded", errs)
			}
			var unread []string
			for _, w := range task.Warnings {
				if !strings.Contains(w.Message(), fmt.Sprintf("not read: the task's test files up to this one come to over %d bytes, the budget for one task's test files", tc.limit)) || w.Advice {
					t.Errorf("got warning %v, want the budget named", w)
				}
				unread = append(unread, w.File)
			}
			if fmt.Sprint(unread) != fmt.Sprint(tc.unread) {
				t.Errorf("got %v not read, want %v", unread, tc.unread)
			}
			if got := len(task.TestFiles()); got != 3-len(tc.unread) {
				t.Errorf("got %d test files read, want %d", got, 3-len(tc.unread))
			}
			cases, err := NewContent(1 << 20).Tests(task)
			if err != nil {
				t.Fatal(err)
			}
			problems := 0
			for _, c := range cases {
				problems += len(c.Problems)
			}
			if len(cases) != 3 || problems != tc.problems {
				t.Errorf("got %d cases with %d problems, want 3 with %d", len(cases), problems, tc.problems)
			}
		})
	}
}
