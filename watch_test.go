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
// inotify and the folders polled.
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
			if err := os.WriteFile(cfg, []byte("watch:\n  mode: "+tc.mode+"\nregistry:\n  sources:\n    - {type: filesystem, path: "+dir+"}\n"), 0o644); err != nil {
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
		})
	}
}
