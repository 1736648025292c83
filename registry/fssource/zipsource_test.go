package fssource

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// TestZipAsSource: a task .zip given as the source's path is a source of
// its own, with the task at the archive's root or in its one folder, and
// is watched as a file: written in place or replaced by rename, it is
// read again; removed, its task goes and the source is in error; back,
// so is its task. Before, such a source found no task, and its watcher
// took it for a folder removed as each setup began, in a loop.
func TestZipAsSource(t *testing.T) {
	layouts := []struct {
		name  string
		under string
	}{
		{"task at the root", ""},
		{"task in one folder", "uppercase"},
	}
	for _, mode := range []watcher.Mode{watcher.ModeFsnotify, watcher.ModePoll} {
		for _, layout := range layouts {
			t.Run(string(mode)+"/"+layout.name, func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, "task.zip")
				archive := func(version string) []byte {
					files := taskFiles(id1, version)
					if layout.under != "" {
						files = files.Under(layout.under)
					}
					return zipBytes(t, files)
				}
				if err := os.WriteFile(p, archive("1.0.0"), 0o644); err != nil {
					t.Fatal(err)
				}
				l := startService(t, mode, p)
				if s := l.reg.Snapshot(); s.VersionCount() != 1 || s.ErrorCount() != 0 {
					t.Fatalf("got %s, want the task of the zip", sourcetest.Listing(s))
				}
				<-l.src[0].Watching()
				only := func(version string) func(*Snapshot) bool {
					return func(s *Snapshot) bool {
						_, ok := s.Task(id1, version)
						return ok && s.VersionCount() == 1 && s.ErrorCount() == 0
					}
				}

				// Written in place.
				if err := os.WriteFile(p, archive("1.1.0"), 0o644); err != nil {
					t.Fatal(err)
				}
				l.until(t, "1.1.0 written in place", only("1.1.0"))

				// Replaced by rename, as editors and copies do.
				tmp := filepath.Join(dir, "task.zip.part")
				if err := os.WriteFile(tmp, archive("1.2.0"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, p); err != nil {
					t.Fatal(err)
				}
				l.until(t, "1.2.0 renamed over it", only("1.2.0"))

				// Removed, then back.
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				l.until(t, "the task gone, the source in error", func(s *Snapshot) bool {
					return s.TaskCount() == 0 && s.Sources()[0].Status == StatusError
				})
				if err := os.WriteFile(p, archive("1.3.0"), 0o644); err != nil {
					t.Fatal(err)
				}
				s := l.until(t, "1.3.0 back", only("1.3.0"))
				if st := s.Sources()[0]; st.Status != StatusOK {
					t.Errorf("got %+v, want the source fine again", st)
				}

				// Its folder removed and made again, with the zip.
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				l.until(t, "the task gone with its folder", func(s *Snapshot) bool { return s.TaskCount() == 0 })
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, archive("1.4.0"), 0o644); err != nil {
					t.Fatal(err)
				}
				l.until(t, "1.4.0 with its folder back", only("1.4.0"))
				// And still followed in the new folder.
				if err := os.WriteFile(p, archive("1.5.0"), 0o644); err != nil {
					t.Fatal(err)
				}
				l.until(t, "1.5.0 in the new folder", only("1.5.0"))
			})
		}
	}
}
