package taskformat

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileScripts are the shapes that made goja's parser overflow the
// stack (fatal, no recover) or take tens of seconds, each at a size under
// the file size limit.
func hostileScripts() []struct {
	name, src string
	line, col int
} {
	const n = 100_000
	pre := func(a, end string) string { return strings.Repeat(a, n) + end }
	wrap := func(a, mid, b string) string { return strings.Repeat(a, n) + mid + strings.Repeat(b, n) }
	return []struct {
		name, src string
		line, col int
	}{
		{"parentheses", wrap("(", "1", ")"), 1, MaxNesting + 1},
		{"brackets", wrap("[", "", "]"), 1, MaxNesting + 1},
		{"open brackets only", strings.Repeat("[", 1_000_000), 1, MaxNesting + 1},
		{"braces", wrap("{", "", "}"), 1, MaxNesting + 1},
		{"object literal", "x=" + wrap("{a:", "1", "}"), 1, 3 + 3*MaxNesting},
		{"template", wrap("`${", "1", "}`"), 1, 2 + 3*MaxNesting},
		{"spread", "x=" + wrap("[...", "1", "]"), 1, 3 + 4*MaxNesting},
		{"functions", wrap("function f(){", "", "}"), 1, 0},
		{"regular expression groups", "x=/" + wrap("(", "", ")") + "/", 1, 4 + MaxNesting},
		{"not", pre("!", "x"), 1, maxScriptChain + 1},
		{"minus", pre("-", "x"), 1, 0},
		{"spaced minus", pre("- ", "x"), 1, 0},
		{"typeof", pre("typeof ", "x"), 1, 0},
		{"new", pre("new ", "x"), 1, 0},
		{"increment", pre("++", "x"), 1, 0},
		{"assignment", pre("a=", "1"), 1, 0},
		{"assignment over lines", pre("a=\n", "1"), maxScriptChain + 1, 0},
		{"assignment continued on the next line", pre("a=b\n=", "1"), 0, 0},
		{"conditional", pre("a?b:", "c"), 1, 0},
		{"arrow", pre("a=>", "1"), 1, 0},
		{"arrow with parentheses", pre("()=>", "1"), 1, 0},
		{"power", pre("a**", "1"), 1, 0},
		{"if", pre("if(1)", ";"), 1, 0},
		{"label", pre("a:", ";"), 1, 0},
		{"await", "async function f(){" + pre("await ", "1") + "}", 1, 0},
		{"assigned functions", pre("a=function(){}=", "1"), 1, 0},
		{"extends", pre("class extends ", "x{}"), 1, 0},
	}
}

func TestScriptNestingRefusesHostileShapes(t *testing.T) {
	for _, tc := range hostileScripts() {
		t.Run(tc.name, func(t *testing.T) {
			err := scriptNesting([]byte(tc.src))
			var ne *boundError
			if !errors.As(err, &ne) {
				t.Fatalf("got %v, want a nesting error", err)
			}
			line, col := lineCol([]byte(tc.src), ne.off)
			if tc.line > 0 && line != tc.line || tc.col > 0 && col != tc.col {
				t.Errorf("got %d:%d, want %d:%d (%v)", line, col, tc.line, tc.col, err)
			}
		})
	}
}

// TestScriptNestingAcceptsRealCode checks the scan against code it must
// not refuse: the examples, and shapes that look deep to a naive count
// (brackets in strings, comments, templates and regular expressions).
func TestScriptNestingAcceptsRealCode(t *testing.T) {
	deepText := strings.Repeat("(", 1000)
	tests := []struct{ name, src string }{
		{"brackets in strings", `var a = "` + deepText + `", b = '` + deepText + `';`},
		{"brackets in comments", "// " + deepText + "\n/* " + deepText + " */ x();"},
		{"brackets in a template", "var t = `" + deepText + "${a}" + deepText + "`;"},
		{"brackets in a regular expression class", "var r = /[" + deepText + "]/g;"},
		{"regular expression after a condition", "if (x) /" + strings.Repeat("\\(", 1000) + "/.test(y);"},
		{"division after parentheses", "var z = (a) / 2 / (b) / " + strings.Repeat("(c) / ", 2000) + "1;"},
		{"many statements without semicolons", strings.Repeat("x = -1\ny = !x\n", 5000)},
		{"long else-if ladder", "if (a) {}" + strings.Repeat(" else if (a) { b = -c }", 400)},
		{"long switch", "switch (x) {" + strings.Repeat(" case 1: y = a ? b : c; break;", 3000) + "}"},
		{"many unary terms", "var s = " + strings.Repeat("-a + ", 5000) + "0;"},
		{"long array of negatives", "var a = [" + strings.Repeat("-1, ", 50000) + "0];"},
		{"object literal keys that are keywords", "var o = {" + strings.Repeat("if: 1, new: 2, typeof: 3, ", 2000) + "};"},
		{"nesting at the bound", strings.Repeat("(", MaxNesting) + "1" + strings.Repeat(")", MaxNesting)},
		{"property names that are keywords", strings.Repeat("a.new.typeof.if.else = b.void\n", 2000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := scriptNesting([]byte(tc.src)); err != nil {
				t.Errorf("got %v, want none", err)
			}
		})
	}
	scripts, err := filepath.Glob("../examples/*/*/main.js")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../examples/*/main.js")
	for _, p := range append(scripts, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := scriptNesting(data); err != nil {
			t.Errorf("%s: got %v, want none", p, err)
		}
	}
}

func TestJSONNesting(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int // 0 when the document is within the bound
	}{
		{"arrays", strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000), 1, MaxNesting + 1},
		{"objects over lines", strings.Repeat("{\"a\":\n", 1000) + "1" + strings.Repeat("}", 1000), MaxNesting + 1, 1},
		{"at the bound", strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting), 0, 0},
		{"brackets in strings", `{"a": "` + strings.Repeat("[{", 1000) + `\"[["}`, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := jsonNesting([]byte(tc.src), MaxNesting)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("got %v, want none", err)
				}
				return
			}
			var ne *boundError
			if !errors.As(err, &ne) {
				t.Fatalf("got %v, want a nesting error", err)
			}
			if line, col := lineCol([]byte(tc.src), ne.off); line != tc.line || col != tc.col {
				t.Errorf("got %d:%d, want %d:%d", line, col, tc.line, tc.col)
			}
		})
	}
}

// TestScriptNestingTruncated feeds files that end inside a token: the scan
// must leave them to the parser, never read past the end.
func TestScriptNestingTruncated(t *testing.T) {
	for _, src := range []string{`a\`, "`${", "`\\", "/re", "'abc", "/*", "x = /[", `"\`, "a.\\"} {
		if err := scriptNesting([]byte(src)); err != nil {
			t.Errorf("%q: got %v, want none", src, err)
		}
	}
}
