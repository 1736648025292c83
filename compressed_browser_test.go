package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserReadsCompressedAnswers: Chromium reads the compressed answer
// of a list of some 1,200 tasks, sent piece by piece (zstd frames; one
// gzip member of deflate pieces), as the answer, in each coding, before
// and after a save that changes one piece.
func TestBrowserReadsCompressedAnswers(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	for i := range 1200 {
		task := filepath.Join(dir, fmt.Sprintf("t%04d", i))
		copyTree(t, "examples/add", task)
		meta := fmt.Sprintf(`{"uuid": "%08x-0000-4000-8000-000000000000", "version": "1.0.0", "label": "Task %d", "description": "generated"}`, i+1, i)
		if err := os.WriteFile(filepath.Join(task, "metadata.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("tests:\n  enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "--config", cfg, dir)
	p.waitReady(t)
	const query = "{ tasks { id version label description availableVersions } }"
	path := "/graphql?query=" + url.QueryEscape(query)
	plain := func() string {
		t.Helper()
		resp, err := http.Get(p.url + path) // Go asks for gzip and decodes it: only the bytes matter here
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/healthz")); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"cold", "after a save"} {
		if step != "cold" {
			before := plain()
			meta := `{"uuid": "00000005-0000-4000-8000-000000000000", "version": "1.0.0", "label": "Saved", "description": "generated"}`
			if err := os.WriteFile(filepath.Join(dir, "t0004", "metadata.json"), []byte(meta), 0o644); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20e9, func() bool { return plain() != before })
		}
		want := plain()
		for _, coding := range []string{"zstd", "gzip"} {
			// DevTools sets the header that a page may not.
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Encoding": coding}}); err != nil {
				t.Fatal(err)
			}
			type fetched struct{ Encoding, Body string }
			js := `fetch(` + jsString(path) + `, {cache: 'no-store'}).then(async r => ({Encoding: r.headers.get('content-encoding') || '', Body: await r.text()}))`
			got, err := chromedp.Run(ctx, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatal(err)
			}
			if got.Encoding != coding {
				t.Fatalf("%s: Chromium got Content-Encoding %q, want %s", step, got.Encoding, coding)
			}
			if got.Body != want {
				t.Errorf("%s: Chromium read %d bytes of %s, want the %d of the answer", step, len(got.Body), coding, len(want))
			}
		}
	}
}
