package fssource

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// TestSymlinksOutside: a symlink that resolves outside the source's folder
// (a main.js that is really a .env, a folder of someone else's files, a
// zip) is refused with a load error naming it, unless the source allows
// it; links that stay inside, and the source's own path being a link, are
// followed as ever.
func TestSymlinksOutside(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, ".env")
	write(t, secret, "(function() { return 'SECRET'; })\n")
	writeTree(t, outside, taskFiles(id2, "9.0.0").Under("elsewhere"))
	if err := os.WriteFile(filepath.Join(outside, "t.zip"), zipBytes(t, taskFiles(id2, "8.0.0")), 0o644); err != nil {
		t.Fatal(err)
	}

	real := t.TempDir()
	writeTree(t, real, mergeFiles(taskFiles(id1, "1.0.0").With("main.js", "").Under("leak"), taskFiles(id1, "2.0.0").Under("ok")))
	// ok's script is a link to a file beside it, inside the source: it
	// is followed (the loader opens without following first, and checks).
	if err := os.Rename(filepath.Join(real, "ok", "main.js"), filepath.Join(real, "shared.js")); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"ok/main.js":   filepath.Join("..", "shared.js"),
		"leak/main.js": secret,
		"folder":       filepath.Join(outside, "elsewhere"),
		"archive.zip":  filepath.Join(outside, "t.zip"),
		"inside":       filepath.Join(real, "ok"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(real, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	// The source is named through a symlink of its own.
	dir := filepath.Join(t.TempDir(), "tasks")
	if err := os.Symlink(real, dir); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		allow       bool
		wantErrors  int
		wantVersion map[string]bool // id@version served
	}{
		{false, 3, map[string]bool{id1 + "@2.0.0": true}},
		{true, 0, map[string]bool{id1 + "@1.0.0": true, id1 + "@2.0.0": true, id2 + "@9.0.0": true, id2 + "@8.0.0": true}},
	}
	for _, tc := range tests {
		src, err := New(Config{Path: dir, Watch: watcher.Config{Mode: watcher.ModeOff}, FollowSymlinksOutside: tc.allow}, 0, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		reg := registry.New(time.Now, nil)
		s := scanInto(reg, reg.AddSource(src), src)
		got := map[string]bool{}
		for _, e := range s.Entries() {
			for _, v := range e.Versions {
				got[v.ID+"@"+v.Version] = true
			}
		}
		if len(got) != len(tc.wantVersion) {
			t.Errorf("allow=%v: got %v, want %v", tc.allow, got, tc.wantVersion)
		}
		for k := range tc.wantVersion {
			if !got[k] {
				t.Errorf("allow=%v: %s not served:\n%s", tc.allow, k, sourcetest.Listing(s))
			}
		}
		errs := s.Errors()
		if len(errs) != tc.wantErrors {
			t.Errorf("allow=%v: got errors %v, want %d", tc.allow, errs, tc.wantErrors)
		}
		for _, e := range errs {
			if !errors.Is(e, taskformat.ErrOutside) || e.Kind != registry.KindIO {
				t.Errorf("allow=%v: got %v, want the link refused as outside the source", tc.allow, e)
			}
		}
		if task, ok := s.Task(id1, "1.0.0"); ok && !tc.allow {
			if script, _ := taskformat.NewContent(1 << 10).Script(task); script != "" {
				t.Errorf("the secret was served: %q", script)
			}
		}
	}
}
