package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stillServing checks that the process still runs and still answers.
func stillServing(tb testing.TB, p *program, cmd *exec.Cmd) {
	tb.Helper()
	if cmd.ProcessState != nil {
		tb.Fatalf("program exited: %v\n%s", cmd.ProcessState, tail(p.logs.String()))
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		tb.Fatalf("program does not answer: %v\n%s", err, tail(p.logs.String()))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("healthz: got %d, want 200", resp.StatusCode)
	}
}

// tail keeps the end of a log: a crash's stack trace runs to millions of
// lines, and its start is what says why.
func tail(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n...\n" + s[len(s)-2000:]
	}
	return s
}

// hostileTask is a valid task whose one file is replaced by an attack.
func hostileTask(id, file, content string) map[string]string {
	return map[string]string{
		"metadata.json":      fmt.Sprintf(`{"uuid": %q, "version": "1.0.0", "label": "hostile"}`, id),
		"input.schema.json":  `{"type": "object"}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            "(function(input) { return input; })",
		file:                 content,
	}
}

func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func zipFiles(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// attacks are files that each took the process down (a stack overflow in
// goja's parser, fatal and beyond recover) or held its source unready for
// minutes (a schema that compiles in super-linear time), with where the
// load error must point.
var attacks = []struct {
	name, id, file string
	content        func() string
	line, col      int
}{
	{"parentheses", "a0000000-0000-4000-8000-000000000001", "main.js",
		func() string { return strings.Repeat("(", 300_000) + "1" + strings.Repeat(")", 300_000) }, 1, 257},
	{"brackets", "a0000000-0000-4000-8000-000000000002", "main.js",
		func() string { return strings.Repeat("[", 1_000_000) }, 1, 257},
	{"prefix-operators", "a0000000-0000-4000-8000-000000000003", "main.js",
		func() string { return "x = " + strings.Repeat("!", 1_000_000) + "x" }, 1, 1028},
	{"deep-json", "a0000000-0000-4000-8000-000000000004", "output.schema.json",
		func() string { return strings.Repeat(`{"not":`, 5000) + "{}" + strings.Repeat("}", 5000) }, 1, 1793},
	{"deep-schema", "a0000000-0000-4000-8000-000000000005", "input.schema.json",
		func() string {
			return strings.Repeat(`{"type":"object","properties":{"a":`, 3000) + "{}" + strings.Repeat("}}", 3000)
		}, 1, 128*35 + 1},
}

// TestHostileFilesDoNotCrash serves a folder holding each attack beside a
// good task from a real process, and checks that it is still serving
// after, with each attack reported where it is.
func TestHostileFilesDoNotCrash(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, filepath.Join("examples", "add"), filepath.Join(dir, "add"))
	for _, a := range attacks {
		writeFiles(t, filepath.Join(dir, a.name), hostileTask(a.id, a.file, a.content()))
	}
	p, cmd := startProcess(t, "--watch", "off", dir)
	p.waitReady(t)
	stillServing(t, p, cmd)
	checkAttacksReported(t, p, func(a string) string { return filepath.Join(dir, a) + string(filepath.Separator) })
	stillServing(t, p, cmd)
}

// TestHostileBundlesDoNotCrash serves the attacks as bundles from an
// upstream registry's index: before the bounds, one such bundle crashed
// every registry pulling it, at every restart.
func TestHostileBundlesDoNotCrash(t *testing.T) {
	type entry struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Label   string `json:"label"`
		Bundle  string `json:"bundle"`
		SHA256  string `json:"sha256"`
		Size    int    `json:"size"`
	}
	bundles := map[string][]byte{}
	var entries []entry
	for _, a := range attacks {
		z := zipFiles(t, hostileTask(a.id, a.file, a.content()))
		sum := sha256.Sum256(z)
		name := "tasks/" + a.name + ".zip"
		bundles["/"+name] = z
		entries = append(entries, entry{ID: a.id, Version: "1.0.0", Label: "hostile", Bundle: name, SHA256: hex.EncodeToString(sum[:]), Size: len(z)})
	}
	index, err := json.Marshal(map[string]any{"apiVersion": "ratchet-registry/v1", "tasks": entries})
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/index.json" {
			w.Write(index)
			return
		}
		if b, ok := bundles[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer upstream.Close()
	p, cmd := startProcess(t, "--config", httpConfig(t, upstream.URL+"/index.json"))
	p.waitReady(t)
	stillServing(t, p, cmd)
	checkAttacksReported(t, p, func(a string) string { return "tasks/" + a + ".zip!/" })
	stillServing(t, p, cmd)
}

func checkAttacksReported(t *testing.T, p *program, prefix func(attack string) string) {
	t.Helper()
	data := p.query(t, `{ loadErrors { path line column message } }`)
	errs, _ := data["loadErrors"].([]any)
	for _, a := range attacks {
		want := prefix(a.name) + a.file
		found := false
		for _, e := range errs {
			e := e.(map[string]any)
			if !strings.HasSuffix(e["path"].(string), want) {
				continue
			}
			found = true
			line, _ := e["line"].(float64)
			col, _ := e["column"].(float64)
			if int(line) != a.line || int(col) != a.col || !strings.Contains(e["message"].(string), "nested deeper than") {
				t.Errorf("%s: got %v:%v %q, want %d:%d and a nesting bound", a.name, line, col, e["message"], a.line, a.col)
			}
		}
		if !found {
			t.Errorf("%s: no load error on %s; errors: %v", a.name, want, errs)
		}
	}
}
