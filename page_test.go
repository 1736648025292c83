package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is headless Chromium shared by the package's tests: starting
// a browser costs seconds on a loaded machine, a tab of its own for each
// test little. TestMain stops it.
type chromium struct {
	once  sync.Once
	ctx   context.Context // the browser's first tab, parent of the tests'
	err   error
	close func()
}

var headless chromium

func (c *chromium) start(path string) (context.Context, error) {
	c.once.Do(func() {
		dir, err := os.MkdirTemp("", "ratchet-registry-chromium-")
		if err != nil {
			c.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.UserDataDir(dir),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.WindowSize(1280, 900),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(actx)
		c.ctx = ctx
		c.close = func() {
			cancelCtx()
			cancelAlloc()
			os.RemoveAll(dir)
		}
		c.err = chromedp.Do(ctx)
	})
	return c.ctx, c.err
}

// stop ends the browser, if a test started it.
func (c *chromium) stop() {
	if c.close != nil {
		c.close()
	}
}

// browser opens a tab of its own for a test in the shared headless
// Chromium, started on first use: the first of Debian's, Ubuntu's and
// Google's names found in PATH.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := tool(t, "install Chromium (apt-get install chromium)", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
	parent, err := headless.start(path)
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTab := chromedp.NewContext(parent)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// waitText waits until the page's text satisfies cond.
func waitText(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("page never showed %s: %v\npage:\n%s", what, err, text)
	}
}

func has(s string) string {
	return "document.body.innerText.includes(" + jsString(s) + ")"
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// TestStatusPage opens the page in a real browser against the real
// program, saves, breaks and fixes a task, and watches the page follow
// without a reload; then drops and restores the server.
func TestStatusPage(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	p := start(t, dir)
	p.waitReady(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/")); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the tasks", has("Add two numbers")+" && "+has("Upper-case text"))
	waitText(t, ctx, "a live feed", `document.getElementById('conn').textContent === 'live'`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Greet someone", "1.0.0", "1.1.0", "2.0.0-rc.1", "Returns the sum of a and b.", filepath.Join(dir, "uppercase.zip"), dir, "ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q:\n%s", want, text)
		}
	}

	// Tests run on their own: the verdict shows, and a wrong expected
	// output shows its message and both outputs side by side.
	addRow := `document.querySelector('tr[data-id="` + addID + `"]')`
	waitText(t, ctx, "the passing verdict", addRow+`.querySelector('.verdict.passed') !== null && `+addRow+`.innerText.includes('2/2 passed')`)
	smallTest := filepath.Join(dir, "add", "tests", "small.json")
	if err := os.WriteFile(smallTest, []byte(`{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	failing := addRow + `.querySelector('.case[data-file="tests/small.json"]')`
	waitText(t, ctx, "the failing case", addRow+`.querySelector('.verdict.failed') !== null && `+failing+` !== null`)
	for js, want := range map[string]string{
		failing + `.querySelector('.case-message').innerText`:                                 "expected_output differs at /sum: got 3, want 4",
		failing + `.querySelector('.case-status').innerText`:                                  "FAILED",
		`JSON.stringify(JSON.parse(` + failing + `.querySelector('pre.expected').innerText))`: `{"sum":4}`,
		`JSON.stringify(JSON.parse(` + failing + `.querySelector('pre.actual').innerText))`:   `{"sum":3}`,
	} {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil || got != want {
			t.Errorf("%s: got %q (%v), want %q", js, got, err, want)
		}
	}
	screenshot(t, ctx, "status-page-failing-test.png")
	if err := os.WriteFile(smallTest, []byte(`{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the verdict passing again", addRow+`.querySelector('.verdict.passed') !== null && `+failing+` === null`)

	// A save shows up without a reload.
	meta := filepath.Join(dir, "add", "metadata.json")
	if err := os.WriteFile(meta, []byte(`{"uuid": "`+addID+`", "version": "1.0.0", "label": "Add, live", "description": "Edited."}`), 0o644); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the new label", has("Add, live"))

	// A broken file: the error with its line, the task marked stale.
	script := filepath.Join(dir, "add", "main.js")
	if err := os.WriteFile(script, []byte("(function(input) {\n  return { sum: input.a + };\n})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the error", has(script+":2:"))
	waitText(t, ctx, "the stale mark", `document.querySelector('tr.stale .badge.stale') !== null`)

	// A second broken file: the stale row lists both errors, and the source
	// says it has load errors rather than just "ok".
	schemaFile := filepath.Join(dir, "add", "output.schema.json")
	goodSchema, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(schemaFile, []byte("{\n  \"type\": \"object\",\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	staleRow := `(document.querySelector('tr.stale') || {innerText: ''}).innerText`
	waitText(t, ctx, "both errors in the stale row", staleRow+".includes("+jsString(script+":2:")+") && "+staleRow+".includes("+jsString(schemaFile)+")")
	waitText(t, ctx, "the source's error count", `document.getElementById('sources').innerText.includes('ok · 2 load errors')`)
	screenshot(t, ctx, "status-page-error.png")

	// Fixed: the errors go away.
	if err := os.WriteFile(script, []byte("(function(input) {\n  return { sum: input.a + input.b };\n})\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(schemaFile, goodSchema, 0o644); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the error cleared", "!"+has(script)+" && document.querySelector('tr.stale') === null && !"+has("load error"))

	// The filter box.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "upper")); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the filtered list", has("Upper-case text")+" && !"+has("Greet someone"))
	clear := `(() => { const f = document.getElementById('filter'); f.value = ''; return f.dispatchEvent(new Event('input')); })()`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](clear)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "the whole list again", has("Greet someone"))
	screenshot(t, ctx, "status-page.png")

	// The server goes away and comes back: the page says so both times.
	addr := strings.TrimPrefix(p.url, "http://")
	p.stop(t)
	waitText(t, ctx, "the disconnection", `document.getElementById('conn').textContent.startsWith('disconnected')`)
	back := start(t, "--addr", addr, dir)
	back.waitReady(t)
	waitText(t, ctx, "the reconnection", `document.getElementById('conn').textContent === 'live (reconnected)'`)
	if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`)); err != nil || !same {
		t.Errorf("the page reloaded (%v)", err)
	}

	// One task left: the summary speaks English.
	for _, gone := range []string{"greet", "uppercase.zip", "weather"} {
		if err := os.RemoveAll(filepath.Join(dir, gone)); err != nil {
			t.Fatal(err)
		}
	}
	waitText(t, ctx, "one task", `document.getElementById('summary').textContent.startsWith('1 task, 1 version ·')`)
}

// TestGraphiQL runs a subscription in the embedded GraphiQL, over its
// WebSocket, and sees the event of a save.
func TestGraphiQL(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	p := start(t, dir)
	p.waitReady(t)
	q := "subscription { registryEvents { kind id task { label } } }"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/graphiql?query="+url.QueryEscape(q)),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
	); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "add", "metadata.json")
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		body := `{"uuid": "` + addID + `", "version": "1.0.0", "label": "From GraphiQL ` + string(rune('a'+i%26)) + `"}`
		if err := os.WriteFile(meta, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[bool](has("TASK_UPDATED")+" && "+has("From GraphiQL")))
		if err != nil {
			t.Fatal(err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("GraphiQL never showed the event:\n%s", text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	screenshot(t, ctx, "graphiql.png")
}

// screenshot keeps a picture of the page in the test's artifact folder:
// a temporary one that is removed afterwards, or, with
// `go test -artifacts -outputdir DIR`, one under DIR that stays.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
