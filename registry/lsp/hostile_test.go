package lsp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// TestHostileInput sends what a broken or hostile client could, one after
// the other to the same process: each is refused or reported naming its
// limit, and the server goes on answering and checking.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	meta := filepath.Join(task, "metadata.json")
	script := filepath.Join(task, "main.js")
	outside := filepath.Join(t.TempDir(), "metadata.json")
	write(t, outside, `{"uuid": "secret"}`)
	if err := os.Symlink(outside, filepath.Join(task, "tests", "leak.json")); err != nil {
		t.Fatal(err)
	}
	c := start(t, dir, "--max-message", "6000000", "--max-open", "50")

	steps := []struct {
		name string
		send func()
		want func()
	}{
		{"a message over --max-message", func() {
			c.sendRaw(fmt.Appendf(nil, "Content-Length: 6000001\r\n\r\n%s", strings.Repeat("x", 6000001)))
		}, func() {
			c.waitFor("the refusal", func() bool {
				return strings.Contains(strings.Join(c.messages, "\n"), "over the 6000000-byte limit for one message (--max-message)")
			})
		}},
		{"a body that is not JSON", func() { c.sendRaw([]byte("Content-Length: 5\r\n\r\n{{{{{")) }, nil},
		{"a second initialize", func() {
			other := t.TempDir()
			copyTask(t, "add", other, "add")
			if msg := c.call(protocol.MethodInitialize, map[string]any{"processId": nil, "rootUri": uri(other), "capabilities": map[string]any{}}, nil); !strings.Contains(msg, "initialize was sent already") {
				t.Errorf("a second initialize got %q, want it refused", msg)
			}
		}, nil},
		{"an unknown method", func() {
			if msg := c.call("ratchet/unknown", nil, nil); !strings.Contains(msg, "method not supported") {
				t.Errorf("got %q, want method not supported", msg)
			}
		}, nil},
		{"params of the wrong shape", func() {
			if msg := c.call(protocol.MethodTextDocumentHover, []int{1, 2}, nil); !strings.Contains(msg, "invalid params") {
				t.Errorf("got %q, want invalid params", msg)
			}
		}, nil},
		{"a symlink to a file outside the folder", func() { c.open(meta) }, func() {
			c.diagnostics(filepath.Join(task, "tests", "leak.json"), "the refused link", has("outside the source's folder"))
		}},
		{"hover on a file outside the workspace", func() {
			var h *protocol.Hover
			c.call(protocol.MethodTextDocumentHover, position(outside, 0, 3), &h)
			if h != nil {
				t.Errorf("hover outside the workspace answered %+v: the file was read", h)
			}
		}, nil},
		{"URIs that spell a way out of the workspace", func() {
			// The same text inside the workspace is answered: the hovers
			// below would show a document taken in.
			inside := filepath.Join(dir, "ctl", "metadata.json")
			c.openText(inside, `{"uuid": "x"}`)
			var h *protocol.Hover
			if c.call(protocol.MethodTextDocumentHover, position(inside, 0, 3), &h); h == nil {
				t.Fatal("hover inside the workspace answered nothing")
			}
			c.close(inside)
			rel, err := filepath.Rel(dir, outside)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{
				"file://" + dir + "/" + rel,
				"file://" + dir + "/" + strings.ReplaceAll(rel, "..", "%2e%2e"),
				"file://" + dir + "/add/..%2f" + strings.ReplaceAll(rel, "/", "%2f"),
				"file://localhost" + outside,
				"file://evil.example" + outside,
				"file://" + outside + "%00",
				"untitled:" + outside,
			} {
				c.notify(protocol.MethodTextDocumentDidOpen, map[string]any{"textDocument": map[string]any{
					"uri": u, "languageId": "json", "version": 1, "text": `{"uuid": "x"}`}})
				var h *protocol.Hover
				if msg := c.call(protocol.MethodTextDocumentHover, map[string]any{"textDocument": map[string]any{"uri": u},
					"position": map[string]any{"line": 0, "character": 3}}, &h); h != nil {
					t.Errorf("hover on %s answered %+v (%q): a file outside the workspace was read or kept", u, h, msg)
				}
			}
		}, nil},
		{"a document in a linked folder that leads outside", func() {
			away := t.TempDir()
			write(t, filepath.Join(away, "tests", "secret.json"), `{"input": {"a": 1, "b": 2}, "expected_output": "SECRET"}`)
			write(t, filepath.Join(away, "main.js"), "(function(input) { return 'nope'; })") // a verdict would show what was expected
			if err := os.Symlink(away, filepath.Join(dir, "linked")); err != nil {
				t.Fatal(err)
			}
			linked := filepath.Join(dir, "linked", "metadata.json")
			c.openText(linked, `{"uuid": "7f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "version": "1.0.0", "label": "L", "description": "D."}`)
			// A document opened after it is checked in the same load or a later one.
			later := filepath.Join(dir, "later", "metadata.json")
			c.openText(later, `{"lable": 1}`)
			c.diagnostics(later, "a load after the linked document's", has("lable"))
			c.close(later)
			var h *protocol.Hover
			c.call(protocol.MethodTextDocumentHover, position(filepath.Join(dir, "linked", "tests", "secret.json"), 0, 30), &h)
			c.alive()
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range c.history {
				if strings.Contains(messages(p.diags), "SECRET") {
					t.Errorf("%s shows a file outside the workspace: %s", p.path, messages(p.diags))
				}
			}
			if h != nil {
				t.Errorf("hover on a test file behind the link answered %+v", h)
			}
			c.close(linked)
		}, nil},
		{"URIs of a megabyte", func() {
			long := filepath.Join(dir, "long", "metadata.json")
			for i := range 20 {
				c.notify(protocol.MethodTextDocumentDidOpen, map[string]any{"textDocument": map[string]any{
					"uri": uri(long) + "?" + strings.Repeat("q", 1<<20) + fmt.Sprint(i), "languageId": "json", "version": 1, "text": `{"lable": 1}`}})
			}
			later := filepath.Join(dir, "later", "metadata.json")
			c.openText(later, `{"lable": 1}`)
			c.diagnostics(later, "a load after the long URIs", has("lable"))
			c.close(later)
			c.mu.Lock()
			defer c.mu.Unlock()
			if d := c.diags[long]; len(d) > 0 {
				t.Errorf("a document named by a URI of a megabyte was kept: its diagnostics are %s", messages(d))
			}
		}, nil},
		{"a document with thousands of problems on one line", func() {
			many := filepath.Join(copyTask(t, "add", dir, "many"), "metadata.json")
			c.openText(many, `{"uuid": "8f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "version": "1.0.0", "label": "A", "description": "B", `+
				strings.Repeat(`"lable": 1, `, 2500)+`"x": 1}`)
		}, func() {
			d := c.diagnostics(filepath.Join(dir, "many", "metadata.json"), "the problems", has("lable"))
			if len(d) != 1001 || !strings.Contains(d[1000].Message, "1500 more problems in this file are not listed: at most 1000 are listed for one file (the limit)") {
				t.Errorf("got %d diagnostics, the last %q; want 1,000 and one that counts the 1,500 others", len(d), d[len(d)-1].Message)
			}
			c.close(filepath.Join(dir, "many", "metadata.json"))
		}},
		{"a document over the file limit", func() {
			c.openText(script, "("+strings.Repeat(" ", int(taskformat.MaxFileSize))+")")
		}, func() {
			c.diagnostics(script, "the limit", has(fmt.Sprintf("over the %d-byte limit for one file", taskformat.MaxFileSize)))
		}},
		{"nesting past the loader's bound", func() {
			c.openText(script, "("+strings.Repeat("[", 100000)+")")
		}, func() { c.diagnostics(script, "the nesting bound", has("nest")) }},
		{"positions far outside the text", func() {
			c.notify(protocol.MethodTextDocumentDidChange, map[string]any{
				"textDocument": map[string]any{"uri": uri(meta), "version": 99},
				"contentChanges": []any{
					map[string]any{"range": map[string]any{"start": map[string]any{"line": 4000000000, "character": 4000000000},
						"end": map[string]any{"line": 0, "character": 0}}, "text": "x"},
				}})
			var items []protocol.CompletionItem
			c.call(protocol.MethodTextDocumentCompletion, position(meta, 4000000000, 4000000000), &items)
		}, func() { c.diagnostics(meta, "the edit applied at a clamped place", has("SYNTAX")) }},
		{"a place nested 5 MiB deep", func() {
			deep := filepath.Join(dir, "deep", "metadata.json")
			c.openText(deep, strings.Repeat("[", int(taskformat.MaxFileSize)))
			var h *protocol.Hover
			if msg := c.call(protocol.MethodTextDocumentHover, position(deep, 0, int(taskformat.MaxFileSize)), &h); msg != "" || h != nil {
				t.Errorf("hover deep inside got %+v, %q; want nothing", h, msg)
			}
			var items []protocol.CompletionItem
			if msg := c.call(protocol.MethodTextDocumentCompletion, position(deep, 0, int(taskformat.MaxFileSize)), &items); msg != "" || items != nil {
				t.Errorf("completion deep inside got %d items, %q; want none", len(items), msg)
			}
			c.close(deep)
		}, nil},
		{"edits that cost more than their budget", func() {
			lines := filepath.Join(dir, "lines.json")
			c.openText(lines, strings.Repeat("\n", int(taskformat.MaxFileSize)/2)) // 5 MiB escaped, under --max-message
			changes := make([]any, 1000)
			for i := range changes {
				changes[i] = map[string]any{"range": map[string]any{"start": map[string]any{"line": 5000000, "character": 0},
					"end": map[string]any{"line": 5000000, "character": 0}}, "text": "x"}
			}
			c.notify(protocol.MethodTextDocumentDidChange, map[string]any{
				"textDocument": map[string]any{"uri": uri(lines), "version": 2}, "contentChanges": changes})
		}, func() {
			c.waitFor("the refusal", func() bool {
				return strings.Contains(strings.Join(c.messages, "\n"),
					fmt.Sprintf("lines.json is checked as saved on disk: the edits of one change of it would cost more than %d bytes (the limit)", 16*taskformat.MaxFileSize))
			})
		}},
		{"documents and changed files 1,500 folders deep", func() {
			for i := range 30 {
				c.openText(filepath.Join(dir, fmt.Sprintf("d%d", i), strings.Repeat("a/", 1500)+"x.json"), "{}")
			}
			changes := make([]any, 5000)
			for i := range changes {
				changes[i] = map[string]any{"uri": uri(filepath.Join(dir, fmt.Sprintf("e%d", i), strings.Repeat("b/", 1500), "metadata.json")), "type": 2}
			}
			c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]any{"changes": changes})
		}, func() {
			c.waitFor("the refusal", func() bool {
				return strings.Contains(strings.Join(c.messages, "\n"), "x.json is checked as saved on disk: it is 1501 folders deep in its workspace folder, past the limit of 32")
			})
		}},
		{"too many content changes", func() {
			changes := make([]any, 1001)
			for i := range changes {
				changes[i] = map[string]any{"text": "{}"}
			}
			c.notify(protocol.MethodTextDocumentDidChange, map[string]any{
				"textDocument": map[string]any{"uri": uri(meta), "version": 100}, "contentChanges": changes})
		}, nil},
		{"more documents than --max-open", func() {
			for i := range 60 {
				c.openText(filepath.Join(dir, fmt.Sprintf("doc%d.json", i)), "{}")
			}
		}, func() {
			c.waitFor("the refusal", func() bool {
				return strings.Contains(strings.Join(c.messages, "\n"), "more than 50 documents open (the limit)")
			})
		}},
	}
	for _, s := range steps {
		s.send()
		if s.want != nil {
			s.want()
		}
		c.alive()
		if t.Failed() {
			t.Fatalf("after %s", s.name)
		}
	}
	// Still checking as before: the script fixed in the editor is clean.
	good, _ := os.ReadFile(filepath.Join("testdata", "add", "main.js"))
	c.change(script, string(good))
	c.diagnostics(script, "the fixed script", empty)
	c.shutdown()
}

// TestBrokenFraming ends the session cleanly when the framing itself
// cannot be trusted any more, naming what broke it.
func TestBrokenFraming(t *testing.T) {
	for _, tc := range []struct{ name, send, want string }{
		{"header line too long", "X-" + strings.Repeat("a", 5000) + ": 1\r\n\r\n", "header line over the 4096-byte limit"},
		{"length not a number", "Content-Length: many\r\n\r\n", `Content-Length "many" is not a length`},
		{"too many header lines", strings.Repeat("X: 1\r\n", 40), "header of more than 32 lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t, t.TempDir())
			c.sendRaw([]byte(tc.send))
			c.stdin.Close()
			c.wg.Wait()
			err := c.cmd.Wait()
			if err == nil || !strings.Contains(c.stderrText(), tc.want) {
				t.Fatalf("got exit %v, stderr %q; want a failure naming %q", err, c.stderrText(), tc.want)
			}
		})
	}
}

// TestTypingDoesNotQueueRuns types a script that spins, pausing past the
// debounce after each keystroke so that every text is loaded and its
// tests start, then the fixed script: the texts typed over are not run
// to their end one after the other. Only the case in the worker when
// the typing began runs on; the fixed script's verdict comes next.
func TestTypingDoesNotQueueRuns(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	script := filepath.Join(task, "main.js")
	c := start(t, dir, "--timeout", "5s", "--memory", "64MiB", "--workers", "1")
	good := c.open(script)
	c.waitRequest(protocol.ServerWorkspaceCodeLensRefresh, 0) // the first verdict
	// It spins for longer than the typing lasts, then eats memory until
	// its worker is killed, which the log says: a case run shows.
	const eater = "(function(input) { var t = Date.now(); while (Date.now() - t < 1500) {} var a = []; while (true) { a.push(new Array(100000).fill(%d)); } })"
	for i := range 5 {
		c.change(script, fmt.Sprintf(eater, i))
		time.Sleep(100 * time.Millisecond) // past the 30 ms debounce: this text is loaded and its run starts
	}
	c.change(script, good)
	c.waitRequest(protocol.ServerWorkspaceCodeLensRefresh, 1) // the fixed script's verdict
	var lenses []protocol.CodeLens
	c.call(protocol.MethodTextDocumentCodeLens, map[string]any{"textDocument": map[string]any{"uri": uri(filepath.Join(task, "tests", "small.json"))}}, &lenses)
	if len(lenses) != 1 {
		t.Fatalf("got %d code lenses on small.json, want 1: the fixed script's case passed", len(lenses))
	}
	if n := strings.Count(c.stderrText(), "test worker replaced"); n > 2 {
		t.Errorf("%d cases ran until their worker was killed, want at most 2: the texts typed over were run one after the other\n%s", n, c.stderrText())
	}
	c.shutdown()
}

// TestInitializeAgainAfterTooManyFolders: an initialize refused for its
// number of folders leaves none behind, so that the editor may send it
// again with fewer.
func TestInitializeAgainAfterTooManyFolders(t *testing.T) {
	dir := t.TempDir()
	task := copyTask(t, "add", dir, "add")
	c := launch(t, dir)
	var folders []any
	for i := range 65 {
		folders = append(folders, map[string]any{"uri": uri(filepath.Join(dir, fmt.Sprint(i))), "name": fmt.Sprint(i)})
	}
	if msg := c.call(protocol.MethodInitialize, map[string]any{"processId": nil, "workspaceFolders": folders, "capabilities": map[string]any{}}, nil); !strings.Contains(msg, "more than 64 workspace folders (the limit)") {
		t.Fatalf("65 folders got %q, want the limit named", msg)
	}
	if msg := c.call(protocol.MethodInitialize, map[string]any{"processId": nil, "rootUri": uri(dir), "capabilities": map[string]any{}}, nil); msg != "" {
		t.Fatalf("initialize with one folder after the refusal: %s", msg)
	}
	c.notify(protocol.MethodInitialized, map[string]any{})
	meta := filepath.Join(task, "metadata.json")
	c.openText(meta, `{"lable": 1}`)
	c.diagnostics(meta, "the document checked", has("lable"))
	c.shutdown()
}
