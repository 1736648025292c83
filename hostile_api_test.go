package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peakRSS reads a process's peak resident memory (VmHWM) in bytes.
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	return procStatusBytes(tb, pid, "VmHWM")
}

// procStatusBytes reads one memory line of /proc/PID/status in bytes.
func procStatusBytes(tb testing.TB, pid int, field string) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc here: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestHostileQueriesInAProcess sends issue 9's query attacks to the real
// program in a process of its own. Before, 400 aliases of tasks { script }
// over a 4 MiB script answered 1.68 GB (8.5 GB resident), and a deep
// introspection fan-out ran on for 30 s past its timeout. Now each is
// refused naming its limit, the process's peak memory stays a small
// multiple of the answer limit, and it goes on serving.
func TestHostileQueriesInAProcess(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	script := "(function(input) { return { sum: input.a + input.b }; })\n//" + strings.Repeat("x", 4<<20)
	if err := os.WriteFile(filepath.Join(dir, "add", "main.js"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	// A generous timeout: on a loaded machine too, the limits under test
	// are what end the requests.
	config := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(config, []byte("server:\n  timeout: 5m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, cmd := startProcess(t, "--config", config, dir)
	p.waitReady(t)
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := range 400 {
		fmt.Fprintf(&aliases, " a%d: tasks { script }", i)
	}
	aliases.WriteString(" }")
	tests := []struct {
		name, query, limit string
	}{
		{"400 aliases of a 4 MiB script", aliases.String(), "server.max_answer_bytes"},
		{"introspection fan-out", "{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } } } } } } } }", "server.max_cost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out := p.raw(t, tc.query)
			t.Logf("answered in %s; peak %d MB", time.Since(start), peakRSS(t, cmd.Process.Pid)>>20)
			if out["data"] != nil || !strings.Contains(fmt.Sprint(out["errors"]), tc.limit) {
				t.Errorf("got %.300v, want a refusal naming %s", out, tc.limit)
			}
		})
	}
	if peak, limit := peakRSS(t, cmd.Process.Pid), int64(768<<20); peak > limit {
		t.Errorf("peak resident memory %d MB, want under %d MB", peak>>20, limit>>20)
	}
	resp, err := http.Get(p.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the attacks: %v %v", resp, err)
	}
	resp.Body.Close()
	if data := p.query(t, "{ tasks { id } }"); len(data["tasks"].([]any)) == 0 {
		t.Error("after the attacks: no tasks")
	}
}
