package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
// goja's parser, fatal and beyond recover; a nil dereference in the
// schema compiler) or held its source unready for minutes (a schema that
// compiles in super-linear time), with where the load error must point
// and what it must say.
var attacks = []struct {
	name, id, file string
	content        func() string
	line, col      int
	msg            string
}{
	{"parentheses", "a0000000-0000-4000-8000-000000000001", "main.js",
		func() string { return strings.Repeat("(", 300_000) + "1" + strings.Repeat(")", 300_000) }, 1, 257, "nested deeper than"},
	{"brackets", "a0000000-0000-4000-8000-000000000002", "main.js",
		func() string { return strings.Repeat("[", 1_000_000) }, 1, 257, "nested deeper than"},
	{"prefix-operators", "a0000000-0000-4000-8000-000000000003", "main.js",
		func() string { return "x = " + strings.Repeat("!", 1_000_000) + "x" }, 1, 1028, "nested deeper than"},
	{"deep-json", "a0000000-0000-4000-8000-000000000004", "output.schema.json",
		func() string { return strings.Repeat(`{"not":`, 5000) + "{}" + strings.Repeat("}", 5000) }, 1, 1793, "nested deeper than"},
	{"deep-schema", "a0000000-0000-4000-8000-000000000005", "input.schema.json",
		func() string {
			return strings.Repeat(`{"type":"object","properties":{"a":`, 3000) + "{}" + strings.Repeat("}}", 3000)
		}, 1, 128*35 + 1, "nested deeper than"},
	{"huge-multipleof", "a0000000-0000-4000-8000-000000000006", "input.schema.json",
		func() string { return "{\"type\": \"object\",\n \"properties\": {\"a\": {\"multipleOf\": 1e9999999}}}" }, 2, 37, "must fit a 64-bit float"},
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
			if int(line) != a.line || int(col) != a.col || !strings.Contains(e["message"].(string), a.msg) {
				t.Errorf("%s: got %v:%v %q, want %d:%d and %q", a.name, line, col, e["message"], a.line, a.col, a.msg)
			}
		}
		if !found {
			t.Errorf("%s: no load error on %s; errors: %v", a.name, want, errs)
		}
	}
}

// TestHugeNumberCopiedIn copies a task whose test file holds 1e9999999
// (checked against "minimum") into a folder a real process serves, beside
// one whose schema holds it. The schema validator dereferenced nil on
// that number: serve died seconds after the copy, and validate exited 2.
// Now the case carries a warning at the number, the schema a load error,
// the process serves on, and validate exits 1 with both places.
func TestHugeNumberCopiedIn(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, filepath.Join("examples", "add"), filepath.Join(dir, "add"))
	p, cmd := startProcess(t, dir)
	p.waitReady(t)

	const testID, schemaID = "b0000000-0000-4000-8000-000000000001", "b0000000-0000-4000-8000-000000000002"
	number := hostileTask(testID, "tests/huge.json", "{\n  \"input\": {\"a\": 1e9999999}\n}\n")
	number["input.schema.json"] = `{"type": "object", "properties": {"a": {"minimum": 0}}}`
	schema := hostileTask(schemaID, "input.schema.json", "{\"type\": \"object\",\n \"properties\": {\"a\": {\"minimum\": 1e9999999}}}")
	// Each task is written beside the folder and moved in whole, as a
	// copy from elsewhere lands.
	staging := t.TempDir()
	for name, files := range map[string]map[string]string{"number": number, "schema": schema} {
		writeFiles(t, filepath.Join(staging, name), files)
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}

	var warning, loadErr map[string]any
	eventually(t, 30*time.Second, func() bool {
		stillServing(t, p, cmd)
		data := p.query(t, `{ task(id: "`+testID+`") { label warnings { path line column message } } loadErrors { path line column message } }`)
		if task, _ := data["task"].(map[string]any); task != nil {
			if ws := task["warnings"].([]any); len(ws) == 1 {
				warning = ws[0].(map[string]any)
			}
		}
		for _, e := range data["loadErrors"].([]any) {
			if e := e.(map[string]any); strings.HasSuffix(e["path"].(string), filepath.Join("schema", "input.schema.json")) {
				loadErr = e
			}
		}
		return warning != nil && loadErr != nil
	})
	if warning["path"] != filepath.Join(dir, "number", "tests", "huge.json") || warning["line"] != 2.0 || warning["column"] != 18.0 ||
		!strings.Contains(warning["message"].(string), "must fit a 64-bit float") {
		t.Errorf("got warning %v, want at number/tests/huge.json:2:18 naming the limit", warning)
	}
	if loadErr["line"] != 2.0 || loadErr["column"] != 34.0 || !strings.Contains(loadErr["message"].(string), "must fit a 64-bit float") {
		t.Errorf("got load error %v, want at schema/input.schema.json:2:34 naming the limit", loadErr)
	}
	stillServing(t, p, cmd)

	out, code := validateExit(t, dir)
	if code != 1 {
		t.Errorf("validate exited %d, want 1:\n%s", code, tail(out))
	}
	for _, want := range []string{
		filepath.Join(dir, "number", "tests", "huge.json") + ":2:18: warning: number 1e9999999 is out of range",
		filepath.Join(dir, "schema", "input.schema.json") + ":2:34: number 1e9999999 is out of range",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate printed:\n%s\nwant a line %q", tail(out), want)
		}
	}
	stillServing(t, p, cmd)
}

// validateExit runs `validate PATH ...` as a process of its own and
// returns what it printed and its exit status.
func validateExit(tb testing.TB, paths ...string) (string, int) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"validate"}, paths...)...)
	cmd.Env = append(os.Environ(), asProgram+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		tb.Fatalf("validate: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}
