package taskformat

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestProblemsPerFileBounded: a file that repeats one mistake for every
// line it has (duplicate keys are valid JSON) lists MaxProblemsPerFile of
// them, each at its place, and one more warning counting the rest; other
// files' problems are listed as before. 20,000 misspelt keys on one line
// used to be 20,000 warnings, each placed by counting from the file's
// start (12 s for 40,000).
func TestProblemsPerFileBounded(t *testing.T) {
	const n = 20000
	for _, tc := range []struct {
		name, sep string
		wantLine  func(i int) int
	}{
		{"one line", " ", func(int) int { return 1 }},
		{"a line each", "\n", func(i int) int { return i + 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			meta := `{"uuid": "` + id1 + `", "version": "1.0.0", "label": "A", "description": "é B",` + tc.sep +
				strings.Repeat(`"lable": 1,`+tc.sep, n) + `"x": 1}`
			writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0"), files{
				"metadata.json":  meta,
				"tests/one.json": `{"input": {"a": 1, "b": 2}, "expected_outptu": {"sum": 3}}`,
			}))
			snap := loadDir(t, dir)
			task, ok := snap.Task(id1, "1.0.0")
			if !ok {
				t.Fatalf("the task did not load: %v", snap.Errors())
			}
			var inMeta, inTest []*registry.LoadError
			for _, w := range task.Warnings {
				if w.File == metadataFile {
					inMeta = append(inMeta, w)
				} else {
					inTest = append(inTest, w)
				}
			}
			if len(inMeta) != MaxProblemsPerFile+1 {
				t.Fatalf("%d warnings on metadata.json, want %d and one counting the rest", len(inMeta), MaxProblemsPerFile+1)
			}
			last := inMeta[len(inMeta)-1].Error()
			if want := fmt.Sprintf("%d more problems in this file are not listed: at most %d", n-MaxProblemsPerFile, MaxProblemsPerFile); !strings.Contains(last, want) {
				t.Errorf("last warning %q, want it to say %q", last, want)
			}
			for i, w := range inMeta[:3] {
				col := utf8.RuneCountInString(`{"uuid": "`+id1+`", "version": "1.0.0", "label": "A", "description": "é B", `) + i*len(`"lable": 1, `)
				if tc.sep == "\n" {
					col = 0
				}
				if w.Line != tc.wantLine(i) || w.Column != col+1 {
					t.Errorf("warning %d at %d:%d, want %d:%d", i, w.Line, w.Column, tc.wantLine(i), col+1)
				}
			}
			if len(inTest) != 1 || !strings.Contains(inTest[0].Error(), "expected_output") {
				t.Errorf("test file warnings %v, want the one misspelt key", inTest)
			}
		})
	}
}

// TestPlaceIsLineCol: placing problems one after another, in any order,
// gives what counting from the start gives.
func TestPlaceIsLineCol(t *testing.T) {
	data := []byte(strings.Repeat("ab\néé x\n\n€ y", 50))
	other := []byte("a\nb\nc")
	r := rand.New(rand.NewPCG(1, 2))
	var l taskLoad
	for i := 0; i < 2000; i++ {
		d := data
		if r.IntN(10) == 0 {
			d = other
		}
		off := r.IntN(len(d)+4) - 2
		if r.IntN(3) > 0 {
			off = l.at.off + r.IntN(8) // mostly forwards, as problems come
		}
		for off > 0 && off < len(d) && !utf8.RuneStart(d[off]) {
			off++ // problems are placed on tokens, never inside a character
		}
		line, col := l.place(d, off)
		wantLine, wantCol := lineCol(d, off)
		if line != wantLine || col != wantCol {
			t.Fatalf("step %d: place(%d) = %d:%d, lineCol = %d:%d", i, off, line, col, wantLine, wantCol)
		}
	}
}
