package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads /metrics into name{labels} → value.
func scrape(tb testing.TB, p *program) map[string]float64 {
	tb.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// TestMetrics scrapes /metrics and checks that the figures follow a
// reload, a broken file, requests and a subscriber.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	// Tests off: their verdicts would add generations of their own (the
	// test metrics are checked in TestServeSurvivesHostileTests).
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("tests:\n  enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "--config", cfg, dir)
	p.waitReady(t)
	src := `source="` + dir + `"`
	// The catalogue is served before its watcher has set up; the watcher
	// then reads again what changed since the load began (this whole
	// tree, just copied), which changes nothing.
	eventually(t, 10*time.Second, func() bool {
		m := scrape(t, p)
		return m["ratchet_registry_watches{"+src+"}"]+m["ratchet_registry_polled_folders{"+src+"}"] >= 5
	})
	m := scrape(t, p)
	want := map[string]float64{
		"ratchet_registry_generation":                                    2, // adding the source, then its load
		"ratchet_registry_tasks":                                         4,
		"ratchet_registry_task_versions":                                 6,
		"ratchet_registry_load_errors":                                   0,
		"ratchet_registry_conflicts":                                     0,
		"ratchet_registry_subscribers":                                   0,
		"ratchet_registry_watcher_mode{mode=\"fsnotify\"," + src + "}":   1,
		"ratchet_registry_source_status{" + src + ",status=\"ok\"}":      1,
		"ratchet_registry_reloads_total{result=\"changed\"," + src + "}": 1,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: got %v, want %v", k, m[k], v)
		}
	}
	if n := m["ratchet_registry_reload_duration_seconds_count{"+src+"}"]; n < 1 {
		t.Errorf("reload durations: got %v, want the load's at least", n)
	}
	// fsnotify here, unless another test has used up inotify for a moment
	// and the watcher fell back to polling: either way one mode is on.
	notify, poll := m[`ratchet_registry_watcher_mode{mode="fsnotify",`+src+"}"], m[`ratchet_registry_watcher_mode{mode="poll",`+src+"}"]
	if notify+poll != 1 || (notify == 1 && m["ratchet_registry_watches{"+src+"}"] < 5) {
		t.Errorf("watcher: fsnotify %v poll %v with %v watches, want one mode and a watch per folder", notify, poll, m["ratchet_registry_watches{"+src+"}"])
	}

	// Requests are counted by status.
	p.query(t, "{ tasks { id } }")
	p.raw(t, "{ nope }")
	// A subscriber is counted while it listens.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/graphql?query=subscription%7BregistryEvents%7Bkind%7D%7D", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, resp.Body) }()

	// A broken file: a reload, a new generation, one error.
	if err := os.WriteFile(filepath.Join(dir, "add", "main.js"), []byte("(function( {"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool { return scrape(t, p)["ratchet_registry_load_errors"] == 1 })
	m = scrape(t, p)
	checks := []struct {
		name string
		ok   func(float64) bool
	}{
		{"ratchet_registry_generation", func(v float64) bool { return v == 3 }},
		{"ratchet_registry_task_versions", func(v float64) bool { return v == 6 }}, // the stale one is still served
		{"ratchet_registry_reloads_total{result=\"changed\"," + src + "}", func(v float64) bool { return v == 2 }},
		{"ratchet_registry_save_to_swap_seconds_count", func(v float64) bool { return v >= 1 }},
		{"ratchet_registry_graphql_requests_total{status=\"200\"}", func(v float64) bool { return v >= 1 }},
		{"ratchet_registry_graphql_requests_total{status=\"400\"}", func(v float64) bool { return v == 1 }},
		{"ratchet_registry_subscribers", func(v float64) bool { return v == 1 }},
	}
	for _, c := range checks {
		if !c.ok(m[c.name]) {
			t.Errorf("%s: got %v", c.name, m[c.name])
		}
	}
}
