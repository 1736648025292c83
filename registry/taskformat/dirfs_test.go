package taskformat

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// plainFS hides dirFS's own readFile, so that the loader reads through
// fs.FS as it does from a zip or a git tree.
type plainFS struct{ fs.FS }

// TestReadFileOnDisk checks the loader's syscall-lean read of a file on
// disk against its read through fs.FS: the same bytes and the same errors,
// for every kind of entry a task folder can hold.
func TestReadFileOnDisk(t *testing.T) {
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret"), "SECRET")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "small"), "hello")
	write(t, filepath.Join(dir, "empty"), "")
	write(t, filepath.Join(dir, "exact"), strings.Repeat("x", 64))
	write(t, filepath.Join(dir, "over"), strings.Repeat("x", 65))
	write(t, filepath.Join(dir, "big"), strings.Repeat("y", 1<<20))
	write(t, filepath.Join(dir, "sub", "inner"), "inner")
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"in": "small", "out": filepath.Join(outside, "secret"), "subout": outside, "dangling": "nowhere"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		max     int64
		want    string // the content, when it reads
		wantErr string // part of the error, when it does not
		notExist,
		outside bool
	}{
		{name: "small", max: 64, want: "hello"},
		{name: "empty", max: 64, want: ""},
		{name: "exact", max: 64, want: strings.Repeat("x", 64)},
		{name: "over", max: 64, wantErr: "over the 64-byte limit"},
		{name: "big", max: 2 << 20, want: strings.Repeat("y", 1<<20)},
		{name: "sub/inner", max: 64, want: "inner"},
		{name: "folder", max: 64, wantErr: "is a folder, not a regular file"},
		{name: "fifo", max: 64, wantErr: "is a named pipe, not a regular file"},
		{name: "in", max: 64, want: "hello"},
		{name: "out", max: 64, outside: true},
		{name: "subout/secret", max: 64, outside: true},
		{name: "dangling", max: 64, notExist: true},
		{name: "missing", max: 64, notExist: true},
	}
	for _, tc := range tests {
		fsys := ConfinedFS(dir, dir)
		for _, via := range []struct {
			how  string
			fsys fs.FS
		}{{"on disk", fsys}, {"through fs.FS", plainFS{fsys}}} {
			got, err := readFile(via.fsys, tc.name, tc.max)
			switch {
			case tc.outside:
				if !errors.Is(err, ErrOutside) {
					t.Errorf("%s %s: got %q, %v; want ErrOutside", via.how, tc.name, got, err)
				}
			case tc.notExist:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s %s: got %q, %v; want fs.ErrNotExist", via.how, tc.name, got, err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.name) {
					t.Errorf("%s %s: got %q, %v; want an error naming it with %q", via.how, tc.name, got, err, tc.wantErr)
				}
			case err != nil || string(got) != tc.want:
				t.Errorf("%s %s: got %d bytes, %v; want %d bytes", via.how, tc.name, len(got), err, len(tc.want))
			}
		}
	}
	// Unconfined, a link out is followed, as the user asked.
	if got, err := readFile(DirFS(dir), "out", 64); err != nil || string(got) != "SECRET" {
		t.Errorf("unconfined: got %q, %v; want the link followed", got, err)
	}
}
