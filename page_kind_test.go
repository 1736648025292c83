package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestStatusPageForAuthors: what a new author tripped over on the page.
// Rows are in label order (not uuid order); a failing older version is
// marked while the latest passes; a test file's warning shows its line
// and column; the page asks for no favicon; and at 390 px wide (a phone)
// nothing overflows sideways.
func TestStatusPageForAuthors(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	task := func(folder, id, version, label, test string, extra map[string]string) {
		t.Helper()
		copyTree(t, filepath.Join("examples", "add"), filepath.Join(dir, folder))
		meta := `{"uuid": "` + id + `", "version": "` + version + `", "label": "` + label + `", "description": "A description long enough to wrap on a phone, with a path/that/does/not/break/easily/at/all/anywhere/in/it."}`
		files := map[string]string{"metadata.json": meta, "tests/small.json": test}
		for k, v := range extra {
			files[k] = v
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, folder, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	const (
		pass = `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`
		fail = `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`
	)
	task("zeta", "00000000-0000-4000-8000-000000000001", "1.0.0", "Zeta sum", pass, nil)
	task("alpha", "ffffffff-0000-4000-8000-000000000001", "1.0.0", "alpha sum", pass,
		map[string]string{"tests/camel.json": "{\n  \"input\": { \"a\": 1, \"b\": 2 },\n  \"expectedOutput\": { \"sum\": 3 }\n}\n",
			"tests/syntax.json": "{\n  \"input\": { \"a\": 1, \"b\": 2 }\n  \"expected_output\": { \"sum\": 3 }\n}\n"})
	task("hello-0.2.0", "77777777-0000-4000-8000-000000000001", "0.2.0", "Hello", fail, nil)
	task("hello-0.3.0", "77777777-0000-4000-8000-000000000001", "0.3.0", "Hello", pass, nil)
	p := start(t, dir)
	p.waitReady(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/")); err != nil {
		t.Fatal(err)
	}
	hello := `document.querySelector('tr[data-id="77777777-0000-4000-8000-000000000001"]')`
	// Each task's verdict arrives on its own: wait for alpha's broken case
	// as well as Hello's verdicts before reading either.
	waitText(t, ctx, "the verdicts", hello+` !== null && `+hello+`.querySelector('.version.failing') !== null && `+hello+`.querySelector('.verdict.passed') !== null`+
		` && document.querySelector('.case[data-file="tests/syntax.json"] .mono') !== null`)

	for js, want := range map[string]string{
		`Array.from(document.querySelectorAll('#tasks tr strong')).map(e => e.textContent).join(', ')`: "alpha sum, Hello, Zeta sum",
		hello + `.querySelector('.version.failing').dataset.version`:                                   "0.2.0",
		hello + `.querySelector('.version.failing').title`:                                             "tests fail: 1/2 passed",
		hello + `.querySelector('.verdict').innerText`:                                                 "2/2 passed",
		`document.querySelector('tr .warning').innerText`:                                              filepath.Join(dir, "alpha", "tests", "camel.json") + `:3:3: unknown key "expectedOutput" is ignored, the case runs without it: did you mean "expected_output"?`,
		`document.querySelector('.case[data-file="tests/syntax.json"] .mono').innerText`:               "ERROR tests/syntax.json:2:30",
		`document.querySelector('link[rel=icon]').href.slice(0, 5)`:                                    "data:",
	} {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil || got != want {
			t.Errorf("%s: got %q (%v), want %q", js, got, err, want)
		}
	}

	// A phone: the page is as wide as the screen, however long the paths.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const w = document.documentElement.clientWidth;
		return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > w + 1)
			.map(e => e.tagName + '.' + e.className).slice(0, 5).join(' ') + ' / ' + document.documentElement.scrollWidth + ' > ' + w;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wide, " / ") || !strings.HasSuffix(wide, " > 390") || strings.Split(strings.TrimPrefix(wide, " / "), " ")[0] != "390" {
		t.Errorf("at 390 px wide, the page overflows sideways: %s", wide)
	}
	screenshot(t, ctx, "status-page-390px.png")
}
