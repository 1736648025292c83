package taskformat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMessages checks that common mistakes are reported as a person
// would put them, at the place where the fix goes. Each input is
// testdata/messages/NAME.FILE: the task's FILE replaced by it.
func TestMessages(t *testing.T) {
	tests := []struct {
		input     string
		line, col int
		msg       string // "" when the task must load
	}{
		{"missing-comma.metadata.json", 3, 21, "missing comma after the value that ends on line 3"},
		{"trailing-comma.metadata.json", 4, 17, "trailing comma before }: remove it"},
		{"trailing-comma-array.input.schema.json", 1, 33, "trailing comma before ]"},
		{"bom.metadata.json", 1, 1, "byte order mark (BOM): remove it"},
		{"single-quotes.metadata.json", 2, 3, "double quotes"},
		{"misspelt-label.metadata.json", 4, 3, `field "label" is missing; found "lable": did you mean "label"?`},
		{"unterminated-string.main.js", 2, 10, `unterminated string: the string that starts here has no closing " on its line`},
		{"name-not-label.metadata.json", 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.input, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "messages", tc.input))
			if err != nil {
				t.Fatal(err)
			}
			file := tc.input[strings.IndexByte(tc.input, '.')+1:]
			dir := t.TempDir()
			writeTree(t, dir, taskFiles(id1, "1.0.0").With(file, string(data)))
			s := loadDir(t, dir)
			errs := s.Errors()
			if tc.msg == "" {
				if task, ok := s.Task(id1, "1.0.0"); !ok || task.Label != "Add" || len(errs) != 0 {
					t.Fatalf("got task %v, errors %v; want it loaded with label Add", task, errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("got errors %v, want one", errs)
			}
			e := errs[0]
			if e.File != file || e.Line != tc.line || e.Column != tc.col || !strings.Contains(e.Message(), tc.msg) {
				t.Errorf("got %s:%d:%d: %s\nwant %s:%d:%d: ...%s...", e.File, e.Line, e.Column, e.Message(), file, tc.line, tc.col, tc.msg)
			}
		})
	}
}
