package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

const (
	sinceQuery    = "subscription($since: Int) { registryEvents(since: $since) { generation kind } }"
	instanceQuery = "subscription($since: Int, $instance: String) { registryEvents(since: $since, instance: $instance) { generation kind } }"
)

// firstEvent opens the change feed over SSE and returns the status, and
// the id and data of the first result; for a refusal (nothing streamed),
// the body as data.
func firstEvent(tb testing.TB, p *program, query string, vars map[string]any, lastID string) (status int, id, data string) {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(tb.Context(), "POST", p.url+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, "", string(b)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		switch line := sc.Text(); {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			return resp.StatusCode, id, line[6:]
		}
	}
	tb.Fatalf("the stream ended without a result: %v", sc.Err())
	return 0, "", ""
}

// TestFeedResumeAcrossRestart restarts the real program (a process of its
// own) between a client's last event and its resume. Generations start
// again with the new run, so after three saves the old position names
// other events: every way to resume from it (Last-Event-ID, old and new
// form; since with the old run's instance; a since ahead of the new run)
// must get RESYNC, never a stream that silently skips the changes.
func TestFeedResumeAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ratchet.yaml")
	registrytest.Write(t, cfg, "tests:\n  enabled: false\nwatch:\n  mode: \"off\"\nregistry:\n  sources:\n    - type: filesystem\n      path: ./tasks\n")
	tasks := filepath.Join(dir, "tasks")
	registrytest.WriteTree(t, tasks, registrytest.Task(registrytest.ID1, "1.0.0").Under("a"))
	save := func(p *program, label string) {
		t.Helper()
		registrytest.Write(t, filepath.Join(tasks, "a", "metadata.json"), `{"uuid": "`+registrytest.ID1+`", "version": "1.0.0", "label": "`+label+`", "description": "d"}`)
		p.query(t, "mutation { reload }")
	}
	instance := func(p *program) (string, int) {
		t.Helper()
		r := p.query(t, "{ registry { generation } }")["registry"].(map[string]any)
		out := p.raw(t, "{ registry { instance } }")
		if out["errors"] != nil {
			t.Errorf("{ registry { instance } }: %v", out["errors"])
			return "", int(r["generation"].(float64))
		}
		inst := out["data"].(map[string]any)["registry"].(map[string]any)["instance"].(string)
		return inst, int(r["generation"].(float64))
	}

	p1, cmd1 := startProcess(t, "--config", cfg)
	p1.waitReady(t)
	inst1, gen0 := instance(p1)
	save(p1, "first run")
	status, id1, data := firstEvent(t, p1, sinceQuery, map[string]any{"since": gen0}, "")
	if status != 200 || !strings.HasSuffix(id1, ":"+inst1) || !strings.Contains(data, "TASK_UPDATED") {
		t.Errorf("first run: got %d %q %s, want the save's event with an id naming the run", status, id1, data)
	}
	etag := get(t, p1.url+"/graphql?query="+url.QueryEscape("{ registry { instance } }"), "").Header.Get("ETag")

	if err := cmd1.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() bool {
		resp, err := http.Get(p1.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})

	p2, _ := startProcess(t, "--config", cfg)
	p2.waitReady(t)
	inst2, _ := instance(p2)
	if inst2 == inst1 && inst1 != "" {
		t.Fatalf("both runs are instance %s", inst1)
	}
	// The same catalogue, but not the same answer: the old ETag must not
	// keep the old run's instance on a 304.
	if resp := get(t, p2.url+"/graphql?query="+url.QueryEscape("{ registry { instance } }"), etag); resp.StatusCode != 200 {
		t.Errorf("the first run's ETag for the instance: got %d, want 200", resp.StatusCode)
	}
	for i := range 3 {
		save(p2, fmt.Sprint("second run ", i))
	}

	legacy := id1 // generation:seq, as ids were before they named the run
	if parts := strings.SplitN(id1, ":", 3); len(parts) == 3 {
		legacy = parts[0] + ":" + parts[1]
	}
	tests := []struct {
		name   string
		query  string
		vars   map[string]any
		lastID string
		want   string
	}{
		{"Last-Event-ID of the first run", sinceQuery, nil, id1, "restarted"},
		{"Last-Event-ID without a run, as before", sinceQuery, nil, legacy, "restarted"},
		{"since with the first run's instance", instanceQuery, map[string]any{"since": gen0, "instance": inst1}, "", "restarted"},
		{"since ahead of this run", sinceQuery, map[string]any{"since": 1000}, "", "ahead of this server's generation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, data := firstEvent(t, p2, tc.query, tc.vars, tc.lastID)
			if !strings.Contains(data, `"code":"RESYNC"`) || !strings.Contains(data, tc.want) || strings.Contains(data, "too far behind") {
				t.Errorf("got %d %s, want RESYNC saying %q", status, data, tc.want)
			}
		})
	}
	// This run's own positions still resume.
	if status, id, data := firstEvent(t, p2, instanceQuery, map[string]any{"since": gen0, "instance": inst2}, ""); status != 200 || !strings.HasSuffix(id, ":"+inst2) || !strings.Contains(data, "TASK_UPDATED") {
		t.Errorf("this run's since: got %d %q %s, want its events", status, id, data)
	}
}

func get(tb testing.TB, u, ifNoneMatch string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
