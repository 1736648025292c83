package main

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// exampleZips writes the example task archive twice into a scratch
// folder: as it is (the task in one folder) and with the task's files at
// the archive's root; the version of each is version.
func exampleZips(tb testing.TB, dir, version string) (inFolder, atRoot string) {
	tb.Helper()
	zr, err := zip.OpenReader("examples/uppercase.zip")
	if err != nil {
		tb.Fatal(err)
	}
	defer zr.Close()
	folder, root := map[string]string{}, map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		content := strings.Replace(string(data), `"version": "0.3.0"`, `"version": "`+version+`"`, 1)
		folder[f.Name] = content
		root[strings.TrimPrefix(f.Name, "uppercase/")] = content
	}
	inFolder, atRoot = filepath.Join(dir, "uppercase.zip"), filepath.Join(dir, "root.zip")
	for p, files := range map[string]map[string]string{inFolder: folder, atRoot: root} {
		if err := os.WriteFile(p, zipFiles(tb, files), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return inFolder, atRoot
}

// TestCommandsTakeAZip: every command that takes a PATH takes a task
// .zip, with the task in one folder or at the archive's root, as the
// README says. Before, each said "no task found".
func TestCommandsTakeAZip(t *testing.T) {
	dir := t.TempDir()
	inFolder, atRoot := exampleZips(t, dir, "1.0.0")
	reg := startOCIRegistry(t)
	for _, p := range []string{inFolder, atRoot} {
		tests := []struct {
			name string
			args []string
			want string // on stdout
		}{
			{"validate", []string{"validate", p}, "1 task, 1 version valid; 0 problems"},
			{"test", []string{"test", p}, "1 case in 1 task: 1 passed, 0 failed"},
			{"index", []string{"index", p, "--out", filepath.Join(t.TempDir(), "out")}, "with 1 bundle"},
			{"push", []string{"push", "--plain-http", p, reg.addr + "/acme/" + strings.TrimSuffix(filepath.Base(p), ".zip") + ":1"}, "1 task version"},
		}
		for _, tc := range tests {
			t.Run(filepath.Base(p)+"/"+tc.name, func(t *testing.T) {
				var stdout, stderr strings.Builder
				if code := run(t.Context(), tc.args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), tc.want) {
					t.Errorf("exit %d, want 0 and %q:\n%s%s", code, tc.want, stdout.String(), stderr.String())
				}
			})
		}
	}
	var stdout strings.Builder
	if code := run(t.Context(), []string{"validate", "examples/add/main.js"}, &stdout, &stdout); code != 1 || !strings.Contains(stdout.String(), "not a task .zip nor a folder") {
		t.Errorf("a file that is no zip: exit %d\n%s\nwant 1 and what to give instead", code, stdout.String())
	}
}

// TestServeZipInAProcess serves a task .zip from a process of its own:
// its task is served, the log stays quiet, a new archive renamed over it
// is served, and SIGTERM ends the process within the shutdown's grace
// period. Before, the process logged thousands of lines a second, ran a
// full rescan hundreds of times a second, and ignored SIGTERM.
func TestServeZipInAProcess(t *testing.T) {
	dir := t.TempDir()
	zipPath, _ := exampleZips(t, dir, "1.0.0")
	p, exited := startProgram(t, zipPath)
	p.waitReady(t)
	versions := func() string {
		data := p.query(t, `{ tasks { version } }`)
		var out []string
		for _, tk := range data["tasks"].([]any) {
			out = append(out, tk.(map[string]any)["version"].(string))
		}
		return strings.Join(out, " ")
	}
	if got := versions(); got != "1.0.0" {
		t.Fatalf("served %q, want the zip's task at 1.0.0:\n%s", got, tail(p.logs.String()))
	}
	before := strings.Count(p.logs.String(), "\n")
	time.Sleep(2 * time.Second) // the span over which the log must stay quiet
	if n := strings.Count(p.logs.String(), "\n") - before; n > 10 {
		t.Errorf("%d lines of log in 2s with nothing changing, want a few:\n%s", n, tail(p.logs.String()))
	}
	eventually(t, 20*time.Second, func() bool { return strings.Contains(p.logs.String(), "watching: every save shows") })

	next, _ := exampleZips(t, t.TempDir(), "1.1.0")
	if err := os.Rename(next, zipPath); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() bool { return versions() == "1.1.0" })

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	grace := shutdownGrace + 5*time.Second // the shutdown's own, and the sources' and workers' stop
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, tail(p.logs.String()))
		}
	case <-time.After(grace):
		t.Fatalf("still running %s after SIGTERM:\n%s", grace, tail(p.logs.String()))
	}
}

// shutdownGrace is how long serve gives its HTTP server to shut down.
const shutdownGrace = 10 * time.Second

// process is the program running as a process of its own.
type process struct {
	*program
	cmd *exec.Cmd
}

// startProgram runs `serve` as a process of its own on 127.0.0.1:0 and
// waits for the address it logs. What Wait returns is sent on exited; a
// process still running at the end of the test is killed.
func startProgram(tb testing.TB, args ...string) (*process, <-chan error) {
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
	p := &process{program: &program{logs: &watchertest.Log{}}, cmd: cmd}
	addr := make(chan string, 1)
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		followLogs(stderr, p.logs, addr)
		exited <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill() // an error when it has exited already
		<-done
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case err := <-exited:
		tb.Fatalf("program exited (%v) before listening:\n%s", err, p.logs)
	case <-time.After(20 * time.Second):
		tb.Fatalf("program did not log its address:\n%s", p.logs)
	}
	return p, exited
}

// TestPublishWarnsAsValidate: index and push leave out of their bundles
// the test files that validate warns about (here a symlink that leads
// outside the folder), and say so, on stderr, in validate's own words.
// Before, both dropped the files without a word.
func TestPublishWarnsAsValidate(t *testing.T) {
	dir := t.TempDir()
	task := filepath.Join(dir, "add")
	copyTree(t, "examples/add", task)
	outside := filepath.Join(dir, "elsewhere.json")
	if err := os.WriteFile(outside, []byte(`{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(task, "tests", "linked.json"))

	code, out := runCmd(t, "validate", task)
	warning := regexp.MustCompile(`(?m)^.*linked\.json: warning: .*$`).FindString(out)
	if code != 0 || warning == "" || !strings.Contains(warning, "outside") {
		t.Fatalf("validate: exit %d\n%s\nwant exit 0 and a warning about linked.json", code, out)
	}
	reg := startOCIRegistry(t)
	tests := []struct {
		name    string
		args    []string
		summary string // on stdout
	}{
		{"index", []string{"index", task, "--out", filepath.Join(dir, "out")}, "with 1 bundle; 1 warning (above)"},
		{"push", []string{"push", "--plain-http", task, reg.addr + "/acme/tasks:1"}, "1 uploaded, 0 already there; 1 warning (above)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(t.Context(), tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), warning+"\n") {
				t.Errorf("stderr:\n%s\nwant validate's warning:\n%s", stderr.String(), warning)
			}
			if !strings.Contains(stdout.String(), tc.summary) {
				t.Errorf("stdout: %q, want %q", stdout.String(), tc.summary)
			}
		})
	}
}
