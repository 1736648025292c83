package taskformat

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
)

func TestZipLayouts(t *testing.T) {
	task := taskFiles(id1, "1.0.0")
	tests := []struct {
		name       string
		zip        files
		wantLabel  string
		wantPrefix string
	}{
		{"at the root", task, "Task 1.0.0", ""},
		{"in one folder", task.Under("add"), "Task 1.0.0", "add"},
		{"in a deep folder", task.Under("a/b/c"), "Task 1.0.0", "a/b/c"},
		{"root wins over a folder", mergeFiles(taskFiles(id1, "1.0.0"), taskFiles(id1, "9.0.0").Under("copy")), "Task 1.0.0", ""},
		{"macOS forks ignored", mergeFiles(task.Under("add"), files{"__MACOSX/add/._metadata.json": "junk", "__MACOSX/._x/metadata.json": "junk"}), "Task 1.0.0", "add"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "task.zip")
			if err := os.WriteFile(p, zipBytes(t, tc.zip), 0o644); err != nil {
				t.Fatal(err)
			}
			s := loadDir(t, dir)
			got, ok := s.Task(id1, "")
			if !ok {
				t.Fatalf("task not loaded:\n%s", sourcetest.Listing(s))
			}
			data := zipBytes(t, tc.zip)
			_, prefix, err := openZip(bytes.NewReader(data), int64(len(data)))
			if err != nil || got.Label != tc.wantLabel || prefix != tc.wantPrefix || got.Path != p {
				t.Errorf("got %q prefix %q path %s (%v), want %q prefix %q path %s", got.Label, prefix, got.Path, err, tc.wantLabel, tc.wantPrefix, p)
			}
			// Lazy content reads back from the archive.
			script, err := NewContent(1 << 20).Script(got)
			if err != nil || script != task["main.js"] {
				t.Errorf("got script %q, %v; want %q", script, err, task["main.js"])
			}
		})
	}
}

// rawZip writes entries with exactly the names and declared sizes given,
// which archive/zip's writer would not let a test fake otherwise.
func rawZip(tb testing.TB, entries ...zipEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		// An empty entry is stored: it has nothing to compress, and a
		// deflate writer's state is costly to set up ten thousand times.
		method := zip.Deflate
		if len(e.data) == 0 {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

type zipEntry struct {
	name string
	data []byte
}

func entriesOf(f files) []zipEntry {
	var out []zipEntry
	for _, k := range sortedKeys(f) {
		out = append(out, zipEntry{k, []byte(f[k])})
	}
	return out
}

func TestZipRejected(t *testing.T) {
	good := entriesOf(taskFiles(id1, "1.0.0"))
	valid := rawZip(t, good...)
	many := make([]zipEntry, 0, MaxZipEntries+1)
	for i := 0; i <= MaxZipEntries; i++ {
		many = append(many, zipEntry{name: "f/" + strings.Repeat("x", 3) + string(rune('a'+i%26)) + strconv.Itoa(i), data: nil})
	}
	big := bytes.Repeat([]byte{'a'}, 6<<20)
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"climbs out", rawZip(t, append(good, zipEntry{"../evil.js", []byte("x")})...), `entry "../evil.js" climbs out`},
		{"climbs out deep", rawZip(t, append(good, zipEntry{"a/../../evil.js", []byte("x")})...), `"a/../../evil.js" climbs out`},
		{"absolute", rawZip(t, append(good, zipEntry{"/etc/passwd", []byte("x")})...), `entry "/etc/passwd" has an absolute path`},
		{"drive letter", rawZip(t, append(good, zipEntry{"C:/x", []byte("x")})...), `absolute path`},
		{"backslash", rawZip(t, append(good, zipEntry{`..\evil.js`, []byte("x")})...), `backslash`},
		{"duplicate entry", rawZip(t, append(good, zipEntry{"main.js", []byte("x")})...), `"main.js" appears twice`},
		{"file too big", rawZip(t, append(good, zipEntry{"tests/big.json", big})...), `over the 5242880-byte limit for one file`},
		{"too many entries", rawZip(t, append(good, many...)...), `entries, over the limit`},
		{"truncated", valid[:len(valid)/2], `not a readable zip archive`},
		{"garbage", []byte("this is not a zip"), `not a readable zip archive`},
		{"empty", nil, `not a readable zip archive`},
		{"no task", rawZip(t, zipEntry{"readme.txt", []byte("x")}), `no metadata.json`},
		{"two tasks", rawZip(t, append(entriesOf(taskFiles(id1, "1.0.0").Under("a")), entriesOf(taskFiles(id2, "1.0.0").Under("b"))...)...), `holds 2 task folders (a, b)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "bad.zip")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			writeTree(t, dir, taskFiles(id2, "2.0.0").Under("fine"))
			s := loadDir(t, dir)
			if _, ok := s.Task(id2, "2.0.0"); !ok {
				t.Errorf("the good task beside the bad zip did not load")
			}
			if _, ok := s.Task(id1, ""); ok {
				t.Errorf("the bad zip's task was served")
			}
			errs := s.Errors()
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			if errs[0].Path != p || errs[0].Kind != registry.KindArchive || !strings.Contains(errs[0].Message(), tc.wantMsg) {
				t.Errorf("got %s %v, want ARCHIVE on %s containing %q", errs[0].Kind, errs[0], p, tc.wantMsg)
			}
		})
	}
}

// TestZipCorruptEntry flips bytes inside a compressed entry: the archive's
// directory reads fine, and the damage shows only when the entry is read.
func TestZipCorruptEntry(t *testing.T) {
	data := rawZip(t, entriesOf(taskFiles(id1, "1.0.0"))...)
	i := bytes.Index(data, []byte("main.js"))
	for j := i + 10; j < i+20; j++ {
		data[j] ^= 0xff
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "x.zip")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	errs := loadDir(t, dir).Errors()
	if len(errs) == 0 || !strings.HasPrefix(errs[0].Path, p) {
		t.Fatalf("got %v, want an error on %s", errs, p)
	}
}

// TestZipFileSwappedForFIFO: a FIFO put in an archive's place, after the
// walk found it or after the load, is an IO error on the task that names
// it, never an open that hangs until something writes to the FIFO (the
// loader, or a request for the task's main.js, stuck for ever).
func TestZipFileSwappedForFIFO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "task.zip")
	if err := os.WriteFile(p, zipBytes(t, taskFiles(id1, "1.0.0")), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Root{Source: "s", Key: "task.zip", Display: p}
	ld := NewLoader()
	loaded := ld.LoadZipFile(r, p)
	if loaded.Task == nil {
		t.Fatalf("got %v, want the task", loaded.Errors)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	// Should an open block, a writer releases it, and the test fails.
	t.Cleanup(func() {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	within := func(what string, f func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "named pipe") {
				t.Errorf("%s: got %v, want an error that names the pipe", what, err)
			}
		case <-time.After(10 * time.Second):
			if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
			<-done
			t.Errorf("%s: blocked on the FIFO", what)
		}
	}
	within("load", func() error {
		res := ld.LoadZipFile(r, p)
		if len(res.Errors) == 0 {
			return nil
		}
		if res.Errors[0].Kind != registry.KindIO {
			t.Errorf("got kind %s, want IO", res.Errors[0].Kind)
		}
		return res.Errors[0]
	})
	within("content", func() error {
		_, err := NewContent(0).Read(loaded.Task, "main.js")
		return err
	})
}
