package watcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestFileRoot: a root that is a file (a task .zip given as a source's
// path) is followed as a file, through its folder: written in place or
// replaced by rename, it is a changed path; removed, and back, a full
// rescan each; its folder removed and made again, the same, and it is
// followed in the new folder. Before, the watcher took the file for a
// folder that went as each setup began, and logged so in a loop.
func TestFileRoot(t *testing.T) {
	for _, mode := range []Mode{ModeFsnotify, ModePoll} {
		t.Run(string(mode), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tasks")
			root := filepath.Join(dir, "task.zip")
			write(t, root, "v1")
			r := start(t, root, fast(mode))
			<-r.w.Ready()
			if got := r.w.Mode(); got != mode {
				t.Errorf("mode %s, want %s", got, mode)
			}
			write(t, root, "v2, written in place")
			r.waitPath(t, root)
			write(t, root+".part", "v3")
			if err := os.Rename(root+".part", root); err != nil {
				t.Fatal(err)
			}
			r.waitPath(t, root)

			if err := os.Remove(root); err != nil {
				t.Fatal(err)
			}
			r.waitFor(t, "a full rescan for the removal", func(b Batch) bool { return b.Full && b.Reason == "root removed" })
			write(t, root, "v4")
			r.waitFor(t, "a full rescan when it is back", func(b Batch) bool { return b.Full && b.Reason == "root appeared" })

			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			r.waitFor(t, "a full rescan when its folder goes", func(b Batch) bool { return b.Full && b.Reason == "root removed" })
			write(t, root, "v5")
			r.waitFor(t, "a full rescan when it is back with its folder", func(b Batch) bool { return b.Full && b.Reason == "root appeared" })
			write(t, root, "v6, in the new folder")
			r.waitPath(t, root)
			// One line for the folder's removal and one while it was
			// gone: nothing repeats.
			if n := strings.Count(r.logs.String(), "\n"); n > 6 {
				t.Errorf("%d lines of log, want a few:\n%s", n, r.logs)
			}
		})
	}
}

// TestSetupBacksOff: a root that is there but cannot be followed (here,
// it cannot be watched: the inotify instance is closed as it is made) is
// tried again after a back-off that doubles, not in a loop that takes a
// core and writes a line of log each time; and the watcher stops when
// told, whatever it is doing.
func TestSetupBacksOff(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a", "metadata.json"), "{}")
	cfg := fast(ModeAuto)
	cfg.NewNotify = func() (*fsnotify.Watcher, error) {
		fw, err := fsnotify.NewWatcher()
		if err == nil {
			err = fw.Close()
		}
		return fw, err
	}
	r := start(t, root, cfg)
	rescans := 0
	// 100ms, 200ms, 400ms, 800ms: five setups in a second and a half,
	// where the loop without a back-off made thousands.
	for deadline := time.After(1500 * time.Millisecond); ; {
		select {
		case b := <-r.out:
			if b.Full {
				rescans++
			}
			continue
		case <-deadline:
		}
		break
	}
	r.stop()
	tries := strings.Count(r.logs.String(), "cannot be followed; trying again")
	if tries == 0 || tries > 8 || rescans > 8 {
		t.Errorf("%d setups and %d full rescans in 1.5s, want a handful:\n%s", tries, rescans, r.logs)
	}
	if !strings.Contains(r.logs.String(), "in=800ms") && !strings.Contains(r.logs.String(), "in=400ms") {
		t.Errorf("the back-off did not grow:\n%s", r.logs)
	}
}
