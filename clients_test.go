package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientDir holds the npm packages of the client tests, pinned by its
// package-lock.json.
const clientDir = "clienttest"

// npmCI installs them, once per run. The error keeps npm's output: it is
// the only account of what went wrong, and every later caller gets it too.
var npmCI = sync.OnceValue(func() error {
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = clientDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", clientDir, err, out)
	}
	return nil
})

// clients returns the folder to run node in, with its npm packages in
// place. A plain `go test` never reaches the network: without
// node_modules it skips and says how to install them. In CI it installs
// them with npm ci.
func clients(tb testing.TB) string {
	tb.Helper()
	tool(tb, "install Node.js (apt-get install nodejs npm)", "node")
	// npm ci writes this file last, so its presence means a whole install.
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", ".package-lock.json")); err == nil {
		return clientDir
	}
	if !inCI() {
		tb.Skipf("the client tests' npm packages are not installed: run `npm ci --prefix %s` once (skipped; with CI set the test installs them)", clientDir)
	}
	tool(tb, "install npm (apt-get install npm)", "npm")
	if err := npmCI(); err != nil {
		tb.Fatal(err)
	}
	return clientDir
}

// node runs a script of clienttest/ and returns what it printed.
func node(tb testing.TB, timeout time.Duration, script string, args ...string) string {
	tb.Helper()
	dir := clients(tb)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("node %s: %v\n%s\n%s", script, err, out, stderr.String())
	}
	return string(out)
}

// TestGraphQLOverHTTPAudit runs graphql-http's audit against the real
// server: every MUST must pass, and SHOULDs that fail are listed.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	clients(t)
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
	nodeDir := clients(t)
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	p := start(t, dir)
	p.waitReady(t)
	for _, mode := range []string{"ws", "sse"} {
		t.Run(mode, func(t *testing.T) {
			label := "Saved for " + mode
			cmd := exec.Command("node", "subscribe.mjs", mode, p.url+"/graphql", label)
			cmd.Dir = nodeDir
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
