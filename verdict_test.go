package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// asProgram in the environment makes the test binary run the program.
const asProgram = "RATCHET_REGISTRY_AS_PROGRAM"

// hostileTimeout is the per-case timeout of the hostile corpus. Ending
// 10,000 nested calls takes goja about 0.3s, 0.8s under the race detector,
// and several times that when the two cores are shared with other test
// processes; the recursion case must end as ERROR, stopped by the
// recursion bound, never as a TIMEOUT, however loaded the machine.
const hostileTimeout = 10 * time.Second

// hostileTasks are scripts that attack the process running them; each
// must end as its own case's verdict. By task number.
var hostileTasks = []struct {
	script, test string
	status       string // of the verdict
	caseStatus   string
	message      string
}{
	{"(function(input) { return {sum: input.a + input.b}; })", `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`, "PASSED", "PASSED", ""},
	{"(function(input) { while (true) {} })", `{"input": {}}`, "FAILED", "TIMEOUT", "ran longer than " + hostileTimeout.String()},
	{"(function(input) { var a = []; for (;;) a.push(new Uint8Array(1e8)); })", `{"input": {}}`, "FAILED", "ERROR", "memory limit 256 MiB"},
	{"(function(input) { var a = []; for (;;) a.push('x'.repeat(3e8)); })", `{"input": {}}`, "FAILED", "ERROR", "memory limit 256 MiB"},
	{"function f(n) { return f(n + 1) + 1; }\n(function(input) { return f(0); })", `{"input": {}}`, "FAILED", "ERROR", "stack overflow"},
	{"(function(input) { return fetch('https://example.com/').body; })", `{"input": {}}`, "FAILED", "ERROR", "NetworkError: no mock for GET https://example.com/"},
	{"(function(input) { return {sum: 4}; })", `{"input": {}, "expected_output": {"sum": 3}}`, "FAILED", "FAILED", "expected_output differs at /sum: got 4, want 3"},
}

func writeVerdictTask(tb testing.TB, dir string, i int, script, test string) {
	tb.Helper()
	files := map[string]string{
		"metadata.json":      fmt.Sprintf(`{"uuid": "00000000-0000-4000-8000-%012d", "version": "1.0.0", "label": "task %d"}`, i, i),
		"input.schema.json":  `{"type": "object"}`,
		"output.schema.json": `{"type": "object"}`,
		"main.js":            script,
		"tests/case.json":    test,
	}
	for name, content := range files {
		p := filepath.Join(dir, fmt.Sprintf("task%d", i), name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// followLogs copies a process's log into logs, line by line, sending the
// address it says it listens on (once) to addr; it returns at the end of
// the log.
func followLogs(stderr io.Reader, logs io.Writer, addr chan<- string) {
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		fmt.Fprintln(logs, sc.Text())
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			select {
			case addr <- m[1]:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, stderr) // a line too long for the scanner
}

// startProcess runs the program as a process of its own and waits for
// the address it logs; the process is stopped with SIGTERM at the end.
func startProcess(tb testing.TB, args ...string) (*program, *exec.Cmd) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), asProgram+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &program{logs: &watchertest.Log{}}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		followLogs(stderr, p.logs, addr)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-copied
		if err := cmd.Wait(); err != nil {
			tb.Errorf("program exited with %v:\n%s", err, p.logs)
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-time.After(20 * time.Second):
		tb.Fatalf("program did not log its address:\n%s", p.logs)
	}
	return p, cmd
}

// TestServeSurvivesHostileTests runs the hostile corpus in a real server
// process: each task gets its verdict, and the server keeps serving.
func TestServeSurvivesHostileTests(t *testing.T) {
	dir := t.TempDir()
	for i, h := range hostileTasks {
		writeVerdictTask(t, dir, i, h.script, h.test)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	// A cache of its own, so that verdicts kept by an earlier run are not
	// taken and every case runs.
	if err := os.WriteFile(cfg, []byte("registry:\n  cache_dir: "+t.TempDir()+"\ntests:\n  timeout: "+hostileTimeout.String()+"\n  memory: 256MiB\n  workers: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := startProcess(t, "--config", cfg, dir)
	p.waitReady(t)
	var tasks []any
	eventually(t, 60*time.Second, func() bool {
		data := p.query(t, `{ tasks { label verdict { status passed failed total durationMs cases { file status message expected actual durationMs } } } }`)
		tasks = data["tasks"].([]any)
		for _, tk := range tasks {
			if tk.(map[string]any)["verdict"].(map[string]any)["status"] == "PENDING" {
				return false
			}
		}
		return true
	})
	for i, h := range hostileTasks {
		v := tasks[i].(map[string]any)["verdict"].(map[string]any)
		c := v["cases"].([]any)[0].(map[string]any)
		msg, _ := c["message"].(string)
		if v["status"] != h.status || c["status"] != h.caseStatus || !strings.Contains(msg, h.message) || c["file"] != "tests/case.json" {
			t.Errorf("task %d: got %v %v %q, want %s %s containing %q", i, v["status"], c["status"], msg, h.status, h.caseStatus, h.message)
		}
		if h.caseStatus == "FAILED" && (fmt.Sprint(c["expected"]) != "map[sum:3]" || fmt.Sprint(c["actual"]) != "map[sum:4]") {
			t.Errorf("task %d: expected %v, actual %v, want map[sum:3] and map[sum:4]", i, c["expected"], c["actual"])
		}
		if v["total"] != 1.0 {
			t.Errorf("task %d: total %v, want 1", i, v["total"])
		}
	}
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ratchet_registry_test_cases_total{result="PASSED"} 1`, `ratchet_registry_test_worker_restarts_total{reason="memory limit"}`,
		`ratchet_registry_test_queue_length 0`, `ratchet_registry_test_case_duration_seconds_count 7`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Still serving, and still testing: a fix is seen and judged.
	writeVerdictTask(t, dir, 6, "(function(input) { return {sum: 3}; })", hostileTasks[6].test)
	eventually(t, 30*time.Second, func() bool {
		data := p.query(t, `{ task(id: "00000000-0000-4000-8000-000000000006") { verdict { status } } }`)
		return fmt.Sprint(data["task"]) == "map[verdict:map[status:PASSED]]"
	})
}
