package main

import (
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
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
			if !watchertest.Eventually(10*time.Second, func() bool {
				got = fmt.Sprint(p.query(t, `{ sources { name watch { mode watches polledFolders } } }`)["sources"])
				return got == want
			}) {
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

// TestPollRootRemovedInAProcess: a real server polling more folders than
// one batch of a step loses its source folder three times and goes on
// serving; each time the folder is back, so are its tasks. (The source
// folder found gone by a step with folders still to go once crashed the
// poller; the removal must land within a millisecond of a tick's start
// for that, which watcher's TestPollRootGoneWithinTick makes happen.)
func TestPollRootRemovedInAProcess(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2") // a batch of 128 folders, whatever the machine
	dir := t.TempDir()
	root := filepath.Join(dir, "tasks")
	tree := registrytest.Files{}
	for i := range 100 { // 201 folders
		maps.Copy(tree, registrytest.Task(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "1.0.0").Under(fmt.Sprintf("t%03d", i)))
	}
	registrytest.WriteTree(t, root, tree)
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("watch:\n  mode: poll\n  poll_interval: 100ms\n  poll_cpu: 1\ntests:\n  enabled: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := startProcess(t, "--config", cfg, root)
	count := func() int {
		n, _ := p.query(t, `{ registry { taskCount } }`)["registry"].(map[string]any)["taskCount"].(float64)
		return int(n)
	}
	eventually(t, 30*time.Second, func() bool { return strings.Contains(p.logs.String(), "watching: every save shows") })
	if n := count(); n != 100 {
		t.Fatalf("%d tasks served, want 100", n)
	}
	for range 3 {
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() bool { return count() == 0 })
		registrytest.WriteTree(t, root, tree)
		eventually(t, 30*time.Second, func() bool { return count() == 100 })
	}
	if resp, err := http.Get(p.url + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("not serving after the folder went and came back three times: %v", err)
	} else {
		resp.Body.Close()
	}
}
