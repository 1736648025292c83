package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// storeFixture is a store beside two loaded tasks, each with a verdict
// kept for its files.
func storeFixture(t *testing.T) (*Store, string, *registry.Task, *registry.Task) {
	t.Helper()
	dir, keep := t.TempDir(), t.TempDir()
	writeTask(t, dir, 1, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 4}}`})
	writeTask(t, dir, 2, addScript, map[string]string{"a.json": `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`})
	f := newFixture(t, dir)
	store, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	snap := f.reg.Snapshot()
	t1, _ := snap.Task(taskID(1), "1.0.0")
	t2, _ := snap.Task(taskID(2), "1.0.0")
	for _, v := range []*registry.Verdict{
		registry.NewVerdict(t1.TestDigest, []registry.CaseResult{{File: "tests/a.json", Status: registry.CaseFailed, Message: "expected_output differs at /sum: got 3, want 4"}}),
		registry.NewVerdict(t2.TestDigest, []registry.CaseResult{{File: "tests/a.json", Status: registry.CasePassed}}),
	} {
		if err := store.Save(v); err != nil {
			t.Fatal(err)
		}
	}
	return store, keep, t1, t2
}

// TestStoreRefuses: a verdict file is believed only as the server wrote
// it, for the task's own test files; anything else is an error that says
// why, and a named pipe in its place never blocks.
func TestStoreRefuses(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *Store, keep string, t1, t2 *registry.Task)
		want   string // in the error
	}{
		{"kept as written", func(*testing.T, *Store, string, *registry.Task, *registry.Task) {}, ""},
		{"edited to PASSED", func(t *testing.T, s *Store, _ string, t1, _ *registry.Task) {
			p := s.path(t1.TestDigest)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.ReplaceAll(data, []byte("FAILED"), []byte("PASSED"))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "fails its check against verdicts.key"},
		{"cases invented, no check", func(t *testing.T, s *Store, _ string, t1, _ *registry.Task) {
			body := `{"Digest":"` + t1.TestDigest + `","Status":"PASSED","Cases":[{"file":"tests/a.json","status":"PASSED"},{"file":"tests/b.json","status":"PASSED"}]}`
			if err := os.WriteFile(s.path(t1.TestDigest), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "fails its check"},
		{"copied from another task", func(t *testing.T, s *Store, _ string, t1, t2 *registry.Task) {
			data, err := os.ReadFile(s.path(t2.TestDigest))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.path(t1.TestDigest), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "fails its check"},
		{"signed, other cases", func(t *testing.T, s *Store, _ string, t1, _ *registry.Task) {
			v := registry.NewVerdict(t1.TestDigest, []registry.CaseResult{{File: "tests/a.json", Status: registry.CasePassed}, {File: "tests/z.json", Status: registry.CasePassed}})
			if err := s.Save(v); err != nil {
				t.Fatal(err)
			}
		}, "2 cases that are not the task's 1 test files"},
		{"another key", func(t *testing.T, s *Store, keep string, _, _ *registry.Task) {
			if err := os.Remove(filepath.Join(keep, keyFile)); err != nil {
				t.Fatal(err)
			}
			fresh, err := NewStore(keep, testLimits)
			if err != nil {
				t.Fatal(err)
			}
			*s = *fresh
		}, "fails its check"},
		{"a named pipe", func(t *testing.T, s *Store, _ string, t1, _ *registry.Task) {
			p := s.path(t1.TestDigest)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"a symbolic link", func(t *testing.T, s *Store, _ string, t1, t2 *registry.Task) {
			p := s.path(t1.TestDigest)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(s.path(t2.TestDigest), p); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"over the limit", func(t *testing.T, s *Store, _ string, t1, _ *registry.Task) {
			if err := os.WriteFile(s.path(t1.TestDigest), bytes.Repeat([]byte(" "), maxStored+1), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "over the 16777216-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, keep, t1, t2 := storeFixture(t)
			tc.tamper(t, store, keep, t1, t2)
			type loaded struct {
				v   *registry.Verdict
				err error
			}
			got := make(chan loaded, 1)
			go func() {
				v, err := store.Load(t1)
				got <- loaded{v, err}
			}()
			var l loaded
			select {
			case l = <-got:
			case <-time.After(10 * time.Second):
				// Open it for writing, so that the blocked read ends and
				// the goroutine with it.
				if w, err := os.OpenFile(store.path(t1.TestDigest), os.O_WRONLY, 0); err == nil {
					w.Close()
				}
				<-got
				t.Fatal("Load blocked")
			}
			switch {
			case tc.want == "" && (l.err != nil || l.v == nil || l.v.Status != registry.VerdictFailed):
				t.Errorf("got %+v, %v, want the FAILED verdict saved", l.v, l.err)
			case tc.want != "" && (l.v != nil || l.err == nil || !strings.Contains(l.err.Error(), tc.want)):
				t.Errorf("got %+v, %v, want an error containing %q", l.v, l.err, tc.want)
			}
		})
	}
}

// TestStoreKey: the key is made on first use, readable by its owner only,
// and the same for every store over the folder.
func TestStoreKey(t *testing.T) {
	keep := t.TempDir()
	a, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(keep, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Errorf("key file: got %s, %d bytes, want -rw------- and 32 bytes", st.Mode(), st.Size())
	}
	b, err := NewStore(keep, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.key, b.key) {
		t.Error("a second store over the folder made another key")
	}
	// A key cut short is replaced, not used.
	if err := os.WriteFile(filepath.Join(keep, keyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewStore(keep, testLimits)
	if err != nil || len(c.key) != 32 || bytes.Equal(c.key, a.key) {
		t.Errorf("after the key was cut short: got a key of %d bytes (%v), want a new one of 32", len(c.key), err)
	}
	// A named pipe as the key is refused, not waited on.
	if err := os.Remove(filepath.Join(keep, keyFile)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(keep, keyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStore(keep, testLimits); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a named pipe as the key: got %v, want an error saying it is not a regular file", err)
	}
}

// TestStoreBounded: whatever a task's cases throw or return, and however
// many there are, the verdict the scheduler keeps is one the store reads
// back, or one it refuses to write saying why.
func TestStoreBounded(t *testing.T) {
	huge := registry.CaseResult{Status: registry.CaseFailed, Message: strings.Repeat("x", 12<<20),
		Expected: []byte(`"` + strings.Repeat("e", 5<<20) + `"`), Actual: []byte(`"` + strings.Repeat("a", 5<<20) + `"`)}
	for _, n := range []int{1, 30, 600} {
		t.Run(fmt.Sprintf("%d cases", n), func(t *testing.T) {
			dir, keep := t.TempDir(), t.TempDir()
			tests := map[string]string{}
			for i := range n {
				tests[filepathName(i)] = `{"input": {}}`
			}
			writeTask(t, dir, 1, addScript, tests)
			f := newFixture(t, dir)
			task, _ := f.reg.Snapshot().Task(taskID(1), "1.0.0")
			store, err := NewStore(keep, testLimits)
			if err != nil {
				t.Fatal(err)
			}
			names := taskformat.CaseNames(task)
			cases := make([]registry.CaseResult, n)
			for i := range cases {
				c := huge
				c.File = names[i]
				cases[i] = c.Capped(detailCaps(detailShare(n)))
			}
			if err := store.Save(registry.NewVerdict(task.TestDigest, cases)); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(store.path(task.TestDigest))
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > maxStored/2 {
				t.Errorf("%d cases: a verdict file of %d bytes, want at most half the %d-byte read limit", n, st.Size(), maxStored)
			}
			v, err := store.Load(task)
			if err != nil || v == nil || len(v.Cases) != n {
				t.Fatalf("%d cases: the verdict written was not read back: %v", n, err)
			}
			if msg := v.Cases[0].Message; !strings.Contains(msg, "(truncated: 12 MiB message over the ") {
				t.Errorf("%d cases: message %.100q… does not say it was cut", n, msg)
			}
		})
	}
	// A verdict over the limit that Load reads (made by another engine's
	// caps) is refused, saying so, rather than written to be ignored.
	store, err := NewStore(t.TempDir(), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	big := registry.CaseResult{Status: registry.CaseError, Message: strings.Repeat("x", 9<<20)}
	err = store.Save(registry.NewVerdict("d", []registry.CaseResult{big, big}))
	if err == nil || !strings.Contains(err.Error(), "over the 16 MiB limit of a verdict file") {
		t.Errorf("a verdict of 2 cases of 9 MiB: got %v, want an error naming the 16 MiB limit", err)
	}
}

// filepathName names test file i so that the files sort in number order.
func filepathName(i int) string { return fmt.Sprintf("c%06d.json", i) }
