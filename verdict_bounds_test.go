package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeBoundsVerdicts: in a real server process, cases that throw
// 2 MiB messages make a small verdict whose messages say they were cut;
// the next process reads it back from its verdict file without running a
// case, and one started after the file was edited by hand discards it,
// says why, and runs the cases again.
func TestServeBoundsVerdicts(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	const n = 4
	writeVerdictTask(t, dir, 0, `(function(input) { throw new Error("x".repeat(2 << 20)); })`, `{"input": {}}`)
	for i := 1; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "task0", "tests", fmt.Sprintf("case%d.json", i)), []byte(`{"input": {}}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("registry:\n  cache_dir: "+cache+"\ntests:\n  timeout: "+hostileTimeout.String()+"\n  workers: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const q = `{ tasks { verdict { status total cases { file status message } } } }`
	verdict := func(p *program) map[string]any {
		var v map[string]any
		p.waitReady(t)
		eventually(t, 3*time.Minute, func() bool {
			v = p.query(t, q)["tasks"].([]any)[0].(map[string]any)["verdict"].(map[string]any)
			return v["status"] != "PENDING"
		})
		return v
	}
	casesRun := func(p *program) string {
		resp, err := http.Get(p.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(l, "ratchet_registry_test_case_duration_seconds_count "); ok {
				return v
			}
		}
		return "?"
	}

	first, _ := startProcess(t, "--config", cfg, dir)
	v := verdict(first)
	if v["status"] != "FAILED" || v["total"] != float64(n) {
		t.Fatalf("got %v with %v cases, want FAILED with %d", v["status"], v["total"], n)
	}
	for _, c := range v["cases"].([]any) {
		msg := c.(map[string]any)["message"].(string)
		if len(msg) > 8<<10 || !strings.HasSuffix(msg, "… (truncated: 2 MiB message over the 8 KiB limit)") {
			t.Errorf("a message of %d bytes ending %q, want at most 8 KiB ending with a note that it was cut:\n%s", len(msg), msg[max(len(msg)-80, 0):], first.logs)
		}
	}
	files, _ := filepath.Glob(filepath.Join(cache, "verdicts", "*.json"))
	if len(files) != 1 {
		t.Fatalf("verdict files %v, want 1", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Size() > 1<<20 {
		t.Fatalf("the verdict file: %v, %d bytes, want at most 1 MiB", err, st.Size())
	}

	second, _ := startProcess(t, "--config", cfg, dir)
	if v := verdict(second); v["status"] != "FAILED" || v["total"] != float64(n) {
		t.Errorf("the next process: got %v with %v cases, want FAILED with %d", v["status"], v["total"], n)
	}
	if got := casesRun(second); got != "0" {
		t.Errorf("the next process ran %s cases, want 0: it reads the verdict file back", got)
	}

	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], bytes.ReplaceAll(data, []byte(`"ERROR"`), []byte(`"PASSED"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	third, _ := startProcess(t, "--config", cfg, dir)
	if v := verdict(third); v["status"] != "FAILED" {
		t.Errorf("after the verdict file was edited: got %v, want FAILED", v["status"])
	}
	if got := casesRun(third); got != fmt.Sprint(n) {
		t.Errorf("after the verdict file was edited: %s cases ran, want %d", got, n)
	}
	if logs := third.logs.String(); !strings.Contains(logs, "verdict file discarded; the tests run again") {
		t.Errorf("the log does not say why the verdict file was discarded:\n%s", logs)
	}
}
