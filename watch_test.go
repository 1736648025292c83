package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSourceWatch: `sources` in GraphQL shows how each filesystem source
// follows its files: the mode in force, the folders watched through
// inotify, the folders polled and how long a round of them takes (a
// small tree is polled whole at every tick); the metrics say the same.
func TestSourceWatch(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "examples", dir)
	folders := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			folders++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode            string
		watches, polled int
	}{
		{"fsnotify", folders, 0},
		{"poll", 0, folders},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(cfg, []byte("watch:\n  mode: "+tc.mode+"\n  poll_interval: 200ms\nregistry:\n  sources:\n    - {type: filesystem, path: "+dir+"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := start(t, "--config", cfg)
			p.waitReady(t)
			// The catalogue is served before its watcher has set up: the
			// counts show once it has.
			want := fmt.Sprintf("[map[name:%s watch:map[mode:%s polledFolders:%d watches:%d]]]", dir, tc.mode, tc.polled, tc.watches)
			var got string
			deadline := time.Now().Add(10 * time.Second)
			for got != want && time.Now().Before(deadline) {
				got = fmt.Sprint(p.query(t, `{ sources { name watch { mode watches polledFolders } } }`)["sources"])
				time.Sleep(5 * time.Millisecond)
			}
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
			// A round is one tick of 200ms; a few, should the loop have
			// missed ticks while the machine was busy.
			var round any
			eventually(t, 10*time.Second, func() bool {
				round = p.query(t, `{ sources { watch { pollRoundSeconds } } }`)["sources"].([]any)[0].(map[string]any)["watch"].(map[string]any)["pollRoundSeconds"]
				return tc.mode == "fsnotify" || round != nil
			})
			metric := scrape(t, p)[`ratchet_registry_poll_round_seconds{source="`+dir+`"}`]
			switch r, _ := round.(float64); {
			case tc.mode == "fsnotify" && (round != nil || metric != 0):
				t.Errorf("pollRoundSeconds %v and its metric %v with nothing polled, want null and 0", round, metric)
			case tc.mode == "poll" && (r < 0.2 || r > 1 || metric < 0.15 || metric > 1.05):
				t.Errorf("pollRoundSeconds %v and its metric %v, want 0.2 to 1", round, metric)
			}
		})
	}
}
