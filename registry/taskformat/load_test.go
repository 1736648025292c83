package taskformat

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

// TestLoadBadTasks covers every kind of bad input: each must be reported
// with the file it is in (and its line and column where there is one),
// and must cost that task only.
func TestLoadBadTasks(t *testing.T) {
	good := taskFiles(id1, "1.0.0")
	tests := []struct {
		name     string
		task     files
		wantPath string // relative to the task folder
		wantLine int
		wantCol  int
		wantKind registry.Kind
		wantMsg  string
	}{
		{"metadata missing", good.With("metadata.json", ""), "", 0, 0, "", ""}, // not a task at all: nothing reported
		{"input schema missing", good.With("input.schema.json", ""), "input.schema.json", 0, 0, registry.KindMissing, "required file input.schema.json is missing"},
		{"output schema missing", good.With("output.schema.json", ""), "output.schema.json", 0, 0, registry.KindMissing, "missing"},
		{"main.js missing", good.With("main.js", ""), "main.js", 0, 0, registry.KindMissing, "missing"},
		{"metadata syntax", good.With("metadata.json", "{\n  \"uuid\": \"x\",\n  \"version\" \"1.0.0\"\n}"), "metadata.json", 3, 13, registry.KindSyntax, "invalid JSON"},
		{"metadata truncated", good.With("metadata.json", "{\n  \"uuid\": \"x\","), "metadata.json", 2, 15, registry.KindSyntax, "unexpected end"},
		{"metadata not an object", good.With("metadata.json", "[1, 2]"), "metadata.json", 1, 1, registry.KindInvalid, "want a JSON object"},
		{"metadata empty", good.With("metadata.json", "  \n"), "metadata.json", 2, 1, registry.KindSyntax, "empty"},
		{"bad uuid", good.With("metadata.json", "{\"uuid\": \"not-a-uuid\", \"version\": \"1.0.0\", \"label\": \"x\"}"), "metadata.json", 1, 10, registry.KindInvalid, "not a valid UUID"},
		{"uuid not a string", good.With("metadata.json", "{\"uuid\": 7, \"version\": \"1.0.0\", \"label\": \"x\"}"), "metadata.json", 1, 10, registry.KindInvalid, "must be a string"},
		{"leading v", good.With("metadata.json", "{\"uuid\": \""+id1+"\",\n\"version\": \"v1.0.0\", \"label\": \"x\"}"), "metadata.json", 2, 12, registry.KindInvalid, "drop it"},
		{"not semver", good.With("metadata.json", "{\"uuid\": \""+id1+"\", \"version\": \"1.0\", \"label\": \"x\"}"), "metadata.json", 1, 61, registry.KindInvalid, "not SemVer"},
		{"empty label", good.With("metadata.json", "{\"uuid\": \""+id1+"\", \"version\": \"1.0.0\", \"label\": \" \"}"), "metadata.json", 1, 79, registry.KindInvalid, "label"},
		{"missing label", good.With("metadata.json", "{\"uuid\": \""+id1+"\", \"version\": \"1.0.0\"}"), "metadata.json", 1, 1, registry.KindInvalid, `"label" is missing`},
		{"schema syntax", good.With("input.schema.json", "{\"type\": }"), "input.schema.json", 1, 10, registry.KindSyntax, "invalid JSON"},
		{"schema does not compile", good.With("output.schema.json", "{\n  \"type\": \"objekt\"\n}"), "output.schema.json", 2, 11, registry.KindSchema, "not a valid JSON Schema"},
		{"schema remote ref", good.With("input.schema.json", `{"$ref": "https://example.com/s.json"}`), "input.schema.json", 0, 0, registry.KindSchema, "self-contained"},
		{"script syntax", good.With("main.js", "(function(input) {\n  return input.a + ;\n})"), "main.js", 2, 20, registry.KindSyntax, "JavaScript syntax error"},
		{"script empty", good.With("main.js", "\n"), "main.js", 1, 1, registry.KindSyntax, "empty"},
		{"script yields no function", good.With("main.js", "var x = 1;\n"), "main.js", 1, 1, registry.KindInvalid, "main.js yields no function"},
		{"script yields an object", good.With("main.js", "// comment\n({run: function(input) {}});\n"), "main.js", 2, 2, registry.KindInvalid, "main.js yields no function"},
		{"file too large", good.With("main.js", "//"+strings.Repeat("x", MaxFileSize)), "main.js", 0, 0, registry.KindIO, "over the"},
		{"not utf-8", good.With("metadata.json", "{\"label\": \"\xff\"}"), "metadata.json", 0, 0, registry.KindSyntax, "not UTF-8"},
		{"script nested too deep", good.With("main.js", "(function(input) {\n  return "+strings.Repeat("(", 300_000)+"1"+strings.Repeat(")", 300_000)+";\n})"), "main.js", 2, 10 + MaxNesting - 2, registry.KindSyntax, "brackets nested deeper than 256 levels"},
		{"script of open brackets", good.With("main.js", strings.Repeat("[", 1_000_000)), "main.js", 1, MaxNesting + 1, registry.KindSyntax, "nested deeper"},
		{"script prefix chain", good.With("main.js", strings.Repeat("!", 1_000_000)+"x"), "main.js", 1, maxScriptChain + 1, registry.KindSyntax, "expression nested deeper"},
		{"metadata nested too deep", good.With("metadata.json", "{\"uuid\": "+strings.Repeat("[", 5000)), "metadata.json", 1, 10 + MaxNesting - 1, registry.KindSyntax, "JSON nested deeper than 256 levels"},
		{"schema properties nested too deep", good.With("input.schema.json", deepSchema(1000)), "input.schema.json", 1, 128*35 + 1, registry.KindSyntax, "JSON nested deeper"},
		{"schema with too many subschemas", good.With("input.schema.json", wideSchema(MaxSchemaObjects)), "input.schema.json", 0, 0, registry.KindSchema, "over 2000 objects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.task.Under("broken"))
			writeTree(t, dir, taskFiles(id2, "1.0.0").Under("fine"))
			s := loadDir(t, dir)
			if _, ok := s.Task(id2, "1.0.0"); !ok {
				t.Fatalf("the good task beside the broken one did not load:\n%s", sourcetest.Listing(s))
			}
			errs := s.Errors()
			if tc.wantKind == "" {
				if len(errs) != 0 {
					t.Fatalf("got errors %v, want none", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("got no error, want %s", tc.wantMsg)
			}
			e := errs[0]
			wantPath := filepath.Join(dir, "broken", tc.wantPath)
			if e.Path != wantPath || e.Line != tc.wantLine || e.Column != tc.wantCol || e.Kind != tc.wantKind {
				t.Errorf("got %s %s:%d:%d, want %s %s:%d:%d (%v)", e.Kind, e.Path, e.Line, e.Column, tc.wantKind, wantPath, tc.wantLine, tc.wantCol, e)
			}
			if !strings.Contains(e.Message(), tc.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", e.Message(), tc.wantMsg)
			}
			if s.TaskCount() != 1 {
				t.Errorf("got %d tasks, want only the good one", s.TaskCount())
			}
		})
	}
}

// TestLoadReportsEveryProblem checks that loading goes on past the first
// problem in a task.
func TestLoadReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").With(
		"metadata.json", `{"uuid": "x", "version": "v1", "label": ""}`,
		"input.schema.json", `{"type": 3}`,
		"main.js", "(function( {",
		"tests/one.json", `[]`,
	))
	errs := loadDir(t, dir).Errors()
	var got []string
	for _, e := range errs {
		got = append(got, filepath.Base(e.Path))
	}
	want := "metadata.json metadata.json metadata.json input.schema.json main.js"
	if strings.Join(got, " ") != want {
		t.Errorf("got errors in %v, want %s; errors: %v", got, want, errs)
	}
}

func TestLoadSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").With("main.js", "").Under("fifo"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo", "main.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A FIFO named metadata.json makes its folder a task, reported, not a hang.
	writeTree(t, dir, files{"pipe/readme.txt": "x"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe", "metadata.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A FIFO in a collection is skipped.
	if err := syscall.Mkfifo(filepath.Join(dir, "stray.zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := loadDir(t, dir).Errors()
	want := map[string]string{
		filepath.Join(dir, "fifo", "main.js"):       "a named pipe",
		filepath.Join(dir, "pipe", "metadata.json"): "a named pipe",
	}
	for _, e := range errs {
		if w, ok := want[e.Path]; ok && strings.Contains(e.Message(), w) {
			delete(want, e.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing errors for %v; got %v", want, errs)
	}
}

func TestLoadUnknownMetadataFieldsKept(t *testing.T) {
	dir := t.TempDir()
	meta := "{\"uuid\": \"" + strings.ToUpper(id1) + "\", \"version\": \"1.0.0\", \"label\": \"x\", \"author\": \"me\"}"
	writeTree(t, dir, taskFiles(id1, "1.0.0").With("metadata.json", meta))
	s := loadDir(t, dir)
	task, ok := s.Task(id1, "")
	if !ok {
		t.Fatalf("task not loaded: %s", sourcetest.Listing(s))
	}
	if task.ID != id1 {
		t.Errorf("got id %s, want the lowercase form %s", task.ID, id1)
	}
	if !strings.Contains(string(task.Metadata), `"author": "me"`) {
		t.Errorf("got metadata %s, want the unknown field kept", task.Metadata)
	}
	if task.Path != dir || task.Root != "." {
		t.Errorf("got path %s root %s, want %s and .", task.Path, task.Root, dir)
	}
}

// deepSchema nests properties n levels deep: compiling 1,000 levels took
// 5 s and 3,000 about 108 s before the bounds.
func deepSchema(n int) string {
	return strings.Repeat(`{"type":"object","properties":{"a":`, n) + "{}" + strings.Repeat("}}", n)
}

// wideSchema holds n sibling properties: compiling 20,000 took 4 s.
func wideSchema(n int) string {
	var b strings.Builder
	b.WriteString(`{"properties":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"p%d":{"type":"string"}`, i)
	}
	b.WriteString("}}")
	return b.String()
}

// TestCompileSchemaStops checks that a cancelled load stops compiling: a
// shutdown never waits for a schema.
func TestCompileSchemaStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := compileSchema(ctx, "s.json", []byte(deepSchema(10)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := compileSchema(context.Background(), "s.json", []byte(deepSchema(10))); err != nil {
		t.Fatalf("got %v, want the same schema to compile without the cancel", err)
	}
}
