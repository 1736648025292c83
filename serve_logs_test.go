package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeLogsOnlyNews: the log says what a reader needs once. Nothing
// watched (watch.mode off): no "every save shows" line, which would be
// false. A configured folder that does not exist yet: one warning naming
// it, and no "full rescan ... root removed" for a folder that never was.
func TestServeLogsOnlyNews(t *testing.T) {
	tasks := t.TempDir()
	copyTree(t, filepath.Join("examples", "add"), filepath.Join(tasks, "add"))
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("tests:\n  enabled: false\nregistry:\n  sources:\n    - type: filesystem\n      path: not-yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	periodic := filepath.Join(t.TempDir(), "periodic.yaml")
	if err := os.WriteFile(periodic, []byte("tests:\n  enabled: false\nwatch:\n  rescan_interval: 100ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		want, lack []string
	}{
		{"watched", []string{tasks}, []string{"watching: every save shows from now on"}, nil},
		{"nothing watched", []string{"--watch", "off", tasks}, nil, []string{"watching:"}},
		{"periodic rescans that find nothing", []string{"--config", periodic, tasks}, nil, []string{"full rescan"}},
		{"a configured folder not there yet", []string{"--config", cfg}, []string{`level=WARN msg="source failed" source=`, "not-yet", "waiting for it"},
			[]string{"full rescan", "load error", "root removed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.args...)
			p.waitReady(t)
			if tc.name == "periodic rescans that find nothing" {
				// Each is a reload that changed nothing, in the metrics.
				eventually(t, 20*time.Second, func() bool { return unchangedReloads(t, p) >= 3 })
			}
			for _, want := range tc.want {
				eventually(t, 10*time.Second, func() bool { return strings.Contains(p.logs.String(), want) })
			}
			p.stop(t)
			logs := p.logs.String()
			for _, lack := range tc.lack {
				if strings.Contains(logs, lack) {
					t.Errorf("the log says %q:\n%s", lack, logs)
				}
			}
			if n := strings.Count(logs, "level=WARN"); tc.name == "a configured folder not there yet" && n != 2 {
				t.Errorf("got %d warnings, want 2 (the source, the watcher's wait):\n%s", n, logs)
			}
		})
	}
}

// unchangedReloads is the count of loads of any source that changed nothing.
func unchangedReloads(tb testing.TB, p *program) int {
	tb.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "ratchet_registry_reloads_total{") && strings.Contains(line, `result="unchanged"`) {
			f := strings.Fields(line)
			v, _ := strconv.Atoi(f[len(f)-1])
			n += v
		}
	}
	return n
}
