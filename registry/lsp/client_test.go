package lsp_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// buildOnce builds the program once for the package's tests.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lsp-test-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ratchet-registry")
	args := append(append([]string{"build"}, raceFlags...), "-o", bin, "../..")
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func binary(tb testing.TB) string {
	tb.Helper()
	bin, err := buildOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// client is a language client over the real binary's stdin and stdout,
// written with the library's types and JSON-RPC framing by hand.
type client struct {
	tb     testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *strings.Builder
	folder string

	mu       sync.Mutex
	cond     *sync.Cond
	nextID   int
	results  map[int]json.RawMessage
	errors   map[int]string
	diags    map[string][]diagnostic // latest per path
	history  []published             // every publish, in order
	requests []string                // methods of the server's requests
	messages []string                // window/showMessage texts
	done     bool
	wg       sync.WaitGroup
}

// diagnostic is one diagnostic as the server sends it. The library's
// type cannot decode its own code (IntegerOrString's UnmarshalJSON has a
// value receiver), so the client reads it with its own.
type diagnostic struct {
	Range    protocol.Range `json:"range"`
	Severity int            `json:"severity"`
	Code     string         `json:"code"`
	Source   string         `json:"source"`
	Message  string         `json:"message"`
}

type published struct {
	path  string
	diags []diagnostic
}

// start runs `ratchet-registry lsp` on folder and initializes it.
func start(tb testing.TB, folder string, args ...string) *client {
	tb.Helper()
	return startFolders(tb, []string{folder}, args...)
}

// startFolders runs `ratchet-registry lsp` with folders as the
// workspace's folders: one is sent as rootUri, more as workspaceFolders.
func startFolders(tb testing.TB, folders []string, args ...string) *client {
	tb.Helper()
	folder := folders[0]
	c := launch(tb, folder, args...)
	refresh := true
	params := map[string]any{"processId": nil, "rootUri": uri(folder),
		"capabilities": map[string]any{"workspace": map[string]any{"codeLens": map[string]any{"refreshSupport": refresh}}}}
	if len(folders) > 1 {
		var wf []any
		for _, f := range folders {
			wf = append(wf, map[string]any{"uri": uri(f), "name": filepath.Base(f)})
		}
		params["workspaceFolders"] = wf
	}
	c.call(protocol.MethodInitialize, params, nil)
	c.notify(protocol.MethodInitialized, map[string]any{})
	return c
}

// launch runs `ratchet-registry lsp`, not initialized yet; folder is
// where alive looks.
func launch(tb testing.TB, folder string, args ...string) *client {
	tb.Helper()
	cmd := exec.Command(binary(tb), append([]string{"lsp", "--debounce", "30ms"}, args...)...)
	c := &client{tb: tb, cmd: cmd, folder: folder, results: map[int]json.RawMessage{}, errors: map[int]string{},
		diags: map[string][]diagnostic{}, stderr: &strings.Builder{}}
	c.cond = sync.NewCond(&c.mu)
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &c.mu, w: c.stderr}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c.wg.Add(1)
	go c.read(stdout)
	tb.Cleanup(c.stop)
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func uri(p string) string { return (&url.URL{Scheme: "file", Path: p}).String() }

func (c *client) read(stdout io.Reader) {
	defer c.wg.Done()
	r := bufio.NewReader(stdout)
	defer func() {
		c.mu.Lock()
		c.done = true
		c.cond.Broadcast()
		c.mu.Unlock()
	}()
	for {
		size := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				size, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var msg struct {
			ID     *int            `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			c.tb.Errorf("server sent a message that is not JSON: %v: %s", err, body)
			return
		}
		c.mu.Lock()
		switch {
		case msg.Method == "textDocument/publishDiagnostics":
			var p struct {
				URI         string       `json:"uri"`
				Diagnostics []diagnostic `json:"diagnostics"`
			}
			if err := json.Unmarshal(msg.Params, &p); err != nil {
				c.tb.Errorf("publishDiagnostics: %v", err)
			}
			path := pathOf(p.URI)
			c.diags[path] = p.Diagnostics
			c.history = append(c.history, published{path, p.Diagnostics})
		case msg.Method == "window/showMessage":
			var p protocol.ShowMessageParams
			_ = json.Unmarshal(msg.Params, &p)
			c.messages = append(c.messages, p.Message)
		case msg.Method != "":
			c.requests = append(c.requests, msg.Method)
		case msg.ID != nil && msg.Error != nil:
			c.errors[*msg.ID] = msg.Error.Message
		case msg.ID != nil:
			c.results[*msg.ID] = msg.Result
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Path
}

func (c *client) send(msg map[string]any) {
	c.tb.Helper()
	msg["jsonrpc"] = "2.0"
	body, err := json.Marshal(msg)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.sendRaw(fmt.Appendf(nil, "Content-Length: %d\r\n\r\n%s", len(body), body))
}

func (c *client) sendRaw(b []byte) {
	c.tb.Helper()
	if _, err := c.stdin.Write(b); err != nil {
		c.tb.Fatalf("write to the server: %v (stderr: %s)", err, c.stderrText())
	}
}

func (c *client) notify(method string, params any) {
	c.tb.Helper()
	c.send(map[string]any{"method": method, "params": params})
}

// call sends a request and waits for its answer, decoded into result;
// it returns the error message when the server answered with one.
func (c *client) call(method string, params any, result any) string {
	c.tb.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	c.send(map[string]any{"id": id, "method": method, "params": params})
	var raw json.RawMessage
	var errMsg string
	c.waitFor(method, func() bool {
		var ok bool
		if raw, ok = c.results[id]; ok {
			return true
		}
		errMsg, ok = c.errors[id]
		return ok
	})
	if errMsg == "" && result != nil {
		if err := json.Unmarshal(raw, result); err != nil {
			c.tb.Fatalf("%s: decode %s: %v", method, raw, err)
		}
	}
	return errMsg
}

// waitFor waits, with a deadline, until cond holds; c.mu is held while
// cond runs.
func (c *client) waitFor(what string, cond func() bool) {
	c.tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	timer := time.AfterFunc(30*time.Second, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if c.done || time.Now().After(deadline) {
			var seen strings.Builder
			for _, h := range c.history {
				fmt.Fprintf(&seen, "%s:\n%s", h.path, messages(h.diags))
			}
			c.tb.Fatalf("waiting for %s: gave up (server ended: %v); published:\n%s\nstderr:\n%s", what, c.done, seen.String(), c.stderr.String())
		}
		c.cond.Wait()
	}
}

// diagnostics waits until the latest diagnostics of path satisfy ok, and
// returns them.
func (c *client) diagnostics(path, what string, ok func([]diagnostic) bool) []diagnostic {
	c.tb.Helper()
	var got []diagnostic
	c.waitFor(what+" in "+filepath.Base(path), func() bool {
		got = c.diags[path] // nil, never published, is empty
		return ok(got)
	})
	return got
}

func (c *client) open(path string) string {
	c.tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.openText(path, string(data))
	return string(data)
}

func (c *client) openText(path, text string) {
	c.tb.Helper()
	c.notify(protocol.MethodTextDocumentDidOpen, map[string]any{"textDocument": map[string]any{
		"uri": uri(path), "languageId": "json", "version": 1, "text": text}})
}

func (c *client) change(path, text string) {
	c.tb.Helper()
	c.mu.Lock()
	c.nextID++
	v := c.nextID + 1
	c.mu.Unlock()
	c.notify(protocol.MethodTextDocumentDidChange, map[string]any{
		"textDocument":   map[string]any{"uri": uri(path), "version": v},
		"contentChanges": []any{map[string]any{"text": text}}})
}

func (c *client) save(path string) {
	c.tb.Helper()
	c.notify(protocol.MethodTextDocumentDidSave, map[string]any{"textDocument": map[string]any{"uri": uri(path)}})
}

func (c *client) close(path string) {
	c.tb.Helper()
	c.notify(protocol.MethodTextDocumentDidClose, map[string]any{"textDocument": map[string]any{"uri": uri(path)}})
}

// alive checks that the server still answers.
func (c *client) alive() {
	c.tb.Helper()
	var h *protocol.Hover
	if msg := c.call(protocol.MethodTextDocumentHover, map[string]any{
		"textDocument": map[string]any{"uri": uri(filepath.Join(c.folder, "none.json"))},
		"position":     map[string]any{"line": 0, "character": 0}}, &h); msg != "" {
		c.tb.Fatalf("hover after hostile input: %s", msg)
	}
}

// shutdown ends the session as an editor does and returns every publish
// the server sent.
func (c *client) shutdown() []published {
	c.tb.Helper()
	c.call(protocol.MethodShutdown, nil, nil)
	c.notify(protocol.MethodExit, nil)
	c.stdin.Close()
	c.wg.Wait()
	if err := c.cmd.Wait(); err != nil {
		c.tb.Errorf("server exited with %v; stderr:\n%s", err, c.stderrText())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]published(nil), c.history...)
}

func (c *client) stop() {
	c.stdin.Close()
	if c.cmd.ProcessState == nil {
		done := make(chan struct{})
		go func() {
			c.wg.Wait()
			_ = c.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	}
}

func (c *client) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// copyTask copies a task of testdata into dir/name.
func copyTask(tb testing.TB, from, dir, name string) string {
	tb.Helper()
	to := filepath.Join(dir, name)
	if err := os.CopyFS(to, os.DirFS(filepath.Join("testdata", from))); err != nil {
		tb.Fatal(err)
	}
	return to
}

func write(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func messages(d []diagnostic) string {
	var b strings.Builder
	for _, x := range d {
		code := x.Code
		fmt.Fprintf(&b, "[%d:%d-%d:%d %s] %s\n", x.Range.Start.Line, x.Range.Start.Character, x.Range.End.Line, x.Range.End.Character, code, x.Message)
	}
	return b.String()
}

func has(substr string) func([]diagnostic) bool {
	return func(d []diagnostic) bool { return strings.Contains(messages(d), substr) }
}

func empty(d []diagnostic) bool { return len(d) == 0 }

// count is how many requests of method the server has sent.
func (c *client) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.requests {
		if m == method {
			n++
		}
	}
	return n
}

// waitRequest waits until the server has sent more than n requests of method.
func (c *client) waitRequest(method string, n int) {
	c.tb.Helper()
	c.waitFor(method, func() bool {
		m := 0
		for _, r := range c.requests {
			if r == method {
				m++
			}
		}
		return m > n
	})
}
