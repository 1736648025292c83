package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var npmOnce sync.Once

// clients installs the npm packages of clienttest/ once per run, from its
// lock file, and returns the folder to run node in.
func clients(tb testing.TB) string {
	tb.Helper()
	dir, _ := filepath.Abs("clienttest")
	var err error
	npmOnce.Do(func() {
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "graphql-ws")); statErr == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		var out []byte
		if out, err = cmd.CombinedOutput(); err != nil {
			err = &exec.ExitError{Stderr: out}
		}
	})
	if err != nil {
		tb.Fatalf("npm ci in %s: %v", dir, err)
	}
	return dir
}

// node runs a script of clienttest/ and returns what it printed.
func node(tb testing.TB, timeout time.Duration, script string, args ...string) string {
	tb.Helper()
	dir := clients(tb)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		tb.Fatalf("node %s: %v\n%s\n%s", script, err, out, stderr)
	}
	return string(out)
}

// TestGraphQLOverHTTPAudit runs graphql-http's audit against the real
// server: every MUST must pass, and SHOULDs that fail are listed.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	p := start(t, "examples")
	p.waitReady(t)
	var results []struct {
		ID, Name, Status, Reason string
	}
	out := node(t, time.Minute, "audit.mjs", p.url+"/graphql")
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("audit output: %v\n%s", err, out)
	}
	if len(results) < 30 {
		t.Fatalf("got %d audit results, want the full audit", len(results))
	}
	for _, r := range results {
		switch {
		case r.Status == "error" || strings.HasPrefix(r.Name, "MUST") && r.Status != "ok":
			t.Errorf("MUST failed: %s %s: %s", r.ID, r.Name, r.Reason)
		case r.Status != "ok":
			t.Logf("%s %s %s: %s", r.Status, r.ID, r.Name, r.Reason)
		}
	}
}

// TestThirdPartyClients subscribes with the graphql-ws and graphql-sse npm
// packages, saves a task file, and checks that each client gets the event.
func TestThirdPartyClients(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	p := start(t, dir)
	p.waitReady(t)
	clients(t)
	for _, mode := range []string{"ws", "sse"} {
		t.Run(mode, func(t *testing.T) {
			label := "Saved for " + mode
			cmd := exec.Command("node", "subscribe.mjs", mode, p.url+"/graphql", label)
			cmd.Dir = clients(t)
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			meta := filepath.Join(dir, "add", "metadata.json")
			// Save until the client reports the event: the first saves may
			// come before its subscription is in place.
			deadline := time.After(30 * time.Second)
			for i := 0; ; i++ {
				body := `{"uuid": "` + addID + `", "version": "1.0.0", "label": "` + label + `", "description": "save ` + strconv.Itoa(i) + `"}`
				if err := os.WriteFile(meta, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("client failed: %v\n%s", err, errOut.String())
					}
					var ev map[string]any
					if err := json.Unmarshal([]byte(out.String()), &ev); err != nil || ev["kind"] != "TASK_UPDATED" || ev["id"] != addID {
						t.Errorf("got %s, want a TASK_UPDATED of %s", out.String(), addID)
					}
					return
				case <-deadline:
					_ = cmd.Process.Kill()
					<-done
					t.Fatalf("no event reached the %s client:\n%s", mode, errOut.String())
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
}
