package lsp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := buildOnce(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			code = 1
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
		}
	}
	os.Exit(code)
}

// TestEditWithoutSaving follows a document through its life in the
// editor: opened, changed without saving, closed, saved, and changed on
// disk behind the editor's back.
func TestEditWithoutSaving(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	meta := filepath.Join(task, "metadata.json")
	c := start(t, dir)
	good := c.open(meta)

	// A change that is not saved: the diagnostic arrives, at the key.
	broken := strings.Replace(good, `"label"`, `"lable"`, 1)
	c.change(meta, broken)
	d := c.diagnostics(meta, "the misspelt label", has(`did you mean "label"?`))
	if len(d) != 1 || d[0].Range.Start.Line != 3 || d[0].Range.Start.Character != 2 || d[0].Range.End.Character != 9 {
		t.Fatalf("got %s, want one diagnostic on line 3, characters 2-9 (the key)", messages(d))
	}
	if d[0].Source != "ratchet-registry" || d[0].Code != "INVALID" || d[0].Severity != 1 {
		t.Fatalf("got source %q, code %q, severity %d; want ratchet-registry, INVALID, 1 (error)", d[0].Source, d[0].Code, d[0].Severity)
	}
	// Fixed in the editor: an empty list.
	c.change(meta, good)
	c.diagnostics(meta, "no problem", empty)

	// Broken again, then closed without saving: back to the disk's text.
	c.change(meta, broken)
	c.diagnostics(meta, "the misspelt label", has("lable"))
	c.close(meta)
	c.diagnostics(meta, "the disk's text, which is fine", empty)

	// Saved: the disk holds the broken text now.
	c.openText(meta, broken)
	c.diagnostics(meta, "the misspelt label", has("lable"))
	write(t, meta, broken)
	c.save(meta)
	c.close(meta)
	c.diagnostics(meta, "the saved misspelling", has("lable"))

	// Changed on disk by another program, never opened.
	script := filepath.Join(task, "main.js")
	write(t, script, "(function(input) {\n  return { sum: input.a + };\n})\n")
	c.diagnostics(script, "the syntax error written to disk", has("JavaScript syntax error"))
	write(t, meta, good)
	c.diagnostics(meta, "the fix written to disk", empty)
	c.shutdown()
}
