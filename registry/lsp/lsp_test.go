package lsp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	protocol "github.com/tliron/glsp/protocol_3_16"
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

// TestVerdicts runs the tests of the text in the editor: a failing case is
// an error at its expected_output, an error thrown in main.js is also in
// main.js at its line, and a case that passes is a code lens.
func TestVerdicts(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	script := filepath.Join(task, "main.js")
	small := filepath.Join(task, "tests", "small.json")
	negative := filepath.Join(task, "tests", "negative.json")
	c := start(t, dir)
	good := c.open(script)

	// Wrong, unsaved: both cases fail, each at its expected_output.
	c.change(script, strings.Replace(good, "input.a + input.b", "input.a - input.b", 1))
	d := c.diagnostics(small, "the failing case", has("test failed"))
	want := "[0:50-0:62 FAILED] test failed: expected_output differs at /sum: got -1, want 3\nexpected: {\"sum\":3}\nactual:   {\"sum\":-1}\n"
	if got := messages(d); got != want {
		t.Fatalf("got\n%swant\n%s", got, want)
	}
	c.diagnostics(negative, "the failing case", has("got -5.5, want -2.5"))

	// Fixed, still unsaved: the failures go, and the cases show as passed.
	c.change(script, good)
	c.diagnostics(small, "no failure", empty)
	c.diagnostics(negative, "no failure", empty)
	// The lenses are asked for as an editor does: again whenever the
	// server says they changed.
	var lenses []protocol.CodeLens
	for {
		refreshed := c.count("workspace/codeLens/refresh")
		c.call(protocol.MethodTextDocumentCodeLens, map[string]any{"textDocument": map[string]any{"uri": uri(small)}}, &lenses)
		if len(lenses) > 0 {
			break
		}
		c.waitRequest("workspace/codeLens/refresh", refreshed)
	}
	c.diagnostics(negative, "no failure once the verdict is in", empty)
	if len(lenses) != 1 || lenses[0].Command == nil || !strings.HasPrefix(lenses[0].Command.Title, "passed in ") {
		t.Fatalf("got lenses %+v, want one \"passed in N ms\"", lenses)
	}

	// Thrown: in the test file, and in main.js at the line of the throw.
	c.change(script, "(function(input) {\n  if (input.a < 0) {\n    throw new RangeError(\"negative a\");\n  }\n  return { sum: input.a + input.b };\n})\n")
	d = c.diagnostics(script, "the throw", has("RangeError"))
	if len(d) != 1 || d[0].Range.Start.Line != 2 || d[0].Code != "ERROR" || !strings.Contains(d[0].Message, "tests/negative.json: threw RangeError: negative a") {
		t.Fatalf("got %s, want the throw on line 2 (0-based) of main.js", messages(d))
	}
	c.diagnostics(negative, "the thrown error", has("test error: threw RangeError: negative a"))
	c.diagnostics(small, "the passing case", empty)
	c.shutdown()
}

// TestHoverCompletionQuickFixes asks what an author asks while typing:
// what a key means, which keys there are, and how to fix a misspelt key
// or a copied task.
func TestHoverCompletionQuickFixes(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	copied := copyTask(t, "add", dir, "add-copy")
	meta := filepath.Join(task, "metadata.json")
	copyMeta := filepath.Join(copied, "metadata.json")
	test := filepath.Join(task, "tests", "small.json")
	c := start(t, dir)
	good := c.open(meta)

	var h protocol.Hover
	c.call(protocol.MethodTextDocumentHover, position(meta, 1, 4), &h)
	md := hoverText(t, h)
	if !strings.Contains(md, "The task's identity") || !strings.Contains(md, "`add-copy` (version 1.0.0)") {
		t.Fatalf("hover on uuid: got %q, want its description and the copy that uses it", md)
	}

	// The copy is the losing copy of 1.0.0: a conflict, with two fixes.
	c.open(copyMeta)
	d := c.diagnostics(copyMeta, "the conflict", has("conflict: task"))
	if len(d) != 1 || d[0].Code != "CONFLICT" || d[0].Range.Start.Line != 1 {
		t.Fatalf("got %s, want one CONFLICT at the uuid", messages(d))
	}
	var actions []protocol.CodeAction
	c.call(protocol.MethodTextDocumentCodeAction, map[string]any{"textDocument": map[string]any{"uri": uri(copyMeta)},
		"range": d[0].Range, "context": map[string]any{"diagnostics": d}}, &actions)
	titles := actionTitles(actions)
	if titles != "Use a new uuid; Make it the next version (1.0.1)" {
		t.Fatalf("got actions %q, want a new uuid and the next version", titles)
	}
	next := actions[1].Edit.Changes[uri(copyMeta)]
	if len(next) != 1 || next[0].NewText != `"1.0.1"` || next[0].Range.Start.Line != 2 {
		t.Fatalf("got edit %+v, want \"1.0.1\" on line 2", next)
	}
	// Applied in the editor: the conflict goes.
	copyText, _ := os.ReadFile(copyMeta)
	c.change(copyMeta, strings.Replace(string(copyText), `"1.0.0"`, `"1.0.1"`, 1))
	c.diagnostics(copyMeta, "no conflict", empty)

	// A misspelt key: its quick fix replaces it.
	c.change(meta, strings.Replace(good, `"label"`, `"lable"`, 1))
	d = c.diagnostics(meta, "the misspelling", has("lable"))
	c.call(protocol.MethodTextDocumentCodeAction, map[string]any{"textDocument": map[string]any{"uri": uri(meta)},
		"range": d[0].Range, "context": map[string]any{"diagnostics": d}}, &actions)
	if got := actionTitles(actions); got != `Change to "label"` {
		t.Fatalf("got actions %q, want the did-you-mean", got)
	}
	fix := actions[0].Edit.Changes[uri(meta)][0]
	if fix.NewText != `"label"` || fix.Range.Start != d[0].Range.Start || fix.Range.End.Character != 9 {
		t.Fatalf("got edit %+v, want \"label\" over the key", fix)
	}

	// Completion of a test file's keys, inside an object being typed.
	c.openText(test, "{\n  \"input\": {},\n  \"exp\n}\n")
	var items []protocol.CompletionItem
	c.call(protocol.MethodTextDocumentCompletion, position(test, 2, 6), &items)
	var labels []string
	for _, it := range items {
		labels = append(labels, it.Label)
	}
	if got := strings.Join(labels, " "); got != "description expected expected_error expected_output input mock name should_fail" {
		t.Fatalf("got completions %q", got)
	}
	for _, it := range items {
		if it.Label == "expected_output" && (it.Detail == nil || !strings.Contains(*it.Detail, "output.schema.json")) {
			t.Fatalf("expected_output's completion has no description: %+v", it)
		}
	}
	// Hover on a nested key, through the schema's $ref.
	c.change(test, "{\"input\": {}, \"mock\": {\"http\": {\"url\": \"x\"}}}")
	c.call(protocol.MethodTextDocumentHover, position(test, 0, 34), &h)
	if md := hoverText(t, h); !strings.Contains(md, "The URL the task fetches") {
		t.Fatalf("hover on mock.http.url: got %q", md)
	}
	c.shutdown()
}

func position(path string, line, char int) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri(path)}, "position": map[string]any{"line": line, "character": char}}
}

func hoverText(tb testing.TB, h protocol.Hover) string {
	tb.Helper()
	m, ok := h.Contents.(protocol.MarkupContent)
	if !ok {
		tb.Fatalf("hover contents %T, want markup", h.Contents)
	}
	return m.Value
}

func actionTitles(actions []protocol.CodeAction) string {
	var out []string
	for _, a := range actions {
		out = append(out, a.Title)
	}
	return strings.Join(out, "; ")
}

// TestManyQuickChanges types fast: two hundred texts in a burst, every
// other one a syntax error, each other one failing its tests differently.
// Only the last text's diagnostics remain, and no verdict of an older
// text shows after them.
func TestManyQuickChanges(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	script := filepath.Join(task, "main.js")
	small := filepath.Join(task, "tests", "small.json")
	c := start(t, dir)
	c.open(script)
	const n = 200
	for k := 1; k <= n; k++ {
		text := fmt.Sprintf("(function(input) {\n  return { sum: input.a + input.b + %d };\n})\n", k)
		if k%2 == 1 {
			text = strings.Repeat("\n", k) + "(function(input) {\n  return { sum: input.a + };\n})\n"
		}
		c.change(script, text)
		if k == n/2 {
			// Halfway, a verdict shows: the rest must replace it.
			c.diagnostics(small, "the halfway verdict", has(fmt.Sprintf("got %d, want 3", 3+k)))
		}
	}
	last := fmt.Sprintf("got %d, want 3", 3+n)
	c.diagnostics(small, "the last text's verdict", has(last))
	c.diagnostics(script, "the last text's clean script", empty)
	history := c.shutdown()
	final := -1
	for i, p := range history {
		if p.path == small && strings.Contains(messages(p.diags), last) {
			final = i
			break
		}
	}
	for _, p := range history[final:] {
		switch p.path {
		case small:
			if got := messages(p.diags); len(p.diags) > 1 || (len(p.diags) == 1 && !strings.Contains(got, last)) {
				t.Fatalf("after the last text's verdict, small.json got %s", got)
			}
		case script:
			if len(p.diags) > 0 {
				t.Fatalf("after the last text's verdict, main.js got %s", messages(p.diags))
			}
		}
	}
}

// TestUTF16Ranges places problems on lines with characters outside ASCII
// as LSP counts them, in UTF-16 code units: the loader counts characters
// in JSON files and goja counts bytes in main.js.
func TestUTF16Ranges(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	meta := filepath.Join(task, "metadata.json")
	script := filepath.Join(task, "main.js")
	c := start(t, dir)
	metaText := `{"uuid": "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "version": "1.0.0", "description": "é😀 ünïcödé", "lable": "Add"}`
	scriptText := "(function(input) { var s = \"é😀\"; return { sum: input.a + }; })\n"
	for _, tc := range []struct {
		path, text, before, code string
	}{
		{meta, metaText, `{"uuid": "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "version": "1.0.0", "description": "é😀 ünïcödé", `, "INVALID"},
		{script, scriptText, "(function(input) { var s = \"é😀\"; return { sum: input.a + ", "SYNTAX"},
	} {
		c.openText(tc.path, tc.text)
		d := c.diagnostics(tc.path, "the problem", has(tc.code))
		want := len(utf16.Encode([]rune(tc.before)))
		if len(d) != 1 || d[0].Range.Start.Line != 0 || int(d[0].Range.Start.Character) != want {
			t.Errorf("%s: got %s, want one at 0:%d (UTF-16 units)", filepath.Base(tc.path), messages(d), want)
		}
	}
	c.shutdown()
}

// TestWatchedFilesNotification follows a change on disk that the editor
// reports, with the server's own watcher off.
func TestWatchedFilesNotification(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	script := filepath.Join(task, "main.js")
	c := start(t, dir, "--watch", "off")
	write(t, script, "(function(input) {\n  return { sum: input.a + };\n})\n")
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]any{"changes": []any{map[string]any{"uri": uri(script), "type": 2}}})
	c.diagnostics(script, "the syntax error the editor reported", has("JavaScript syntax error"))
	c.shutdown()
}

// TestNewTaskUnsaved checks a task that exists only in the editor: its
// folder is not on disk yet. Closed unsaved, it is gone, and so are its
// diagnostics.
func TestNewTaskUnsaved(t *testing.T) {
	dir := t.TempDir()
	copyTask(t, "add", dir, "add")
	meta := filepath.Join(dir, "new", "metadata.json")
	missing := filepath.Join(dir, "new", "main.js")
	c := start(t, dir)
	c.openText(meta, `{"uuid": "0b7d8f5e-8a2c-4b7e-9d1a-3c5e7f9a1b2d", "version": "1.0.0", "label": "New"}`)
	c.diagnostics(missing, "the missing main.js", has("required file main.js is missing"))
	c.close(meta)
	c.diagnostics(missing, "nothing, the task being gone", empty)
	c.shutdown()
}

// TestTaskRemovedOnDisk removes a task folder behind the editor's back:
// its diagnostics are cleared, and the copy that lost a conflict to it
// loses its conflict.
func TestTaskRemovedOnDisk(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "a")
	copied := copyTask(t, "add", dir, "b")
	write(t, filepath.Join(task, "tests", "bad.json"), `{"input": {"a": 1, "b": 2}, "expected_ouput": {"sum": 3}}`)
	c := start(t, dir)
	bad := filepath.Join(task, "tests", "bad.json")
	c.diagnostics(bad, "the misspelt key", has(`did you mean "expected_output"?`))
	copyMeta := filepath.Join(copied, "metadata.json")
	c.diagnostics(copyMeta, "the conflict", has("conflict: task"))
	if err := os.RemoveAll(task); err != nil {
		t.Fatal(err)
	}
	c.diagnostics(bad, "nothing for a file that is gone", empty)
	c.diagnostics(copyMeta, "no conflict left", empty)
	c.shutdown()
}

// TestWorkspaceFolders loads every folder of workspaceFolders; a task
// version in two of them is a conflict that the later folder loses, as
// the later source does in serve.
func TestWorkspaceFolders(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	copyTask(t, "add", second, "add")
	copyTask(t, "add", first, "add")
	c := startFolders(t, []string{first, second})
	d := c.diagnostics(filepath.Join(second, "add", "metadata.json"), "the conflict", has("conflict: task"))
	if !strings.Contains(d[0].Message, filepath.Join(first, "add")+", which is served") {
		t.Fatalf("got %s, want the first folder's copy to win", messages(d))
	}
	c.diagnostics(filepath.Join(first, "add", "metadata.json"), "no conflict for the winner", empty)
	c.shutdown()
}
