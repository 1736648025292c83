package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestSetVerdict: a verdict is shown for the files it was made from only;
// one alike to the one shown changes nothing; a new one changes the
// snapshot, its content digest and the feed.
func TestSetVerdict(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	writeTree(t, dir, taskFiles(id2, "1.0.0").With("tests/one.json", "").Under("b"))
	feed := registry.NewFeed(64, 64)
	ld := taskformat.NewLoader()
	reg := registry.New(time.Now, feed)
	idx := reg.AddSource(sourcetest.Named(dir))
	load := func() {
		u := scanDir(ld, dir, 0)
		u.Source = idx
		reg.Apply(u)
	}
	load()
	s := reg.Snapshot()
	a, _ := s.Task(id1, "1.0.0")
	b, _ := s.Task(id2, "1.0.0")
	if got := s.Verdict(a).Status; got != registry.VerdictNone {
		t.Errorf("before a runner: got %s, want NONE", got)
	}
	reg.EnableVerdicts()
	s = reg.Snapshot()
	if got := s.Verdict(a).Status; got != registry.VerdictPending {
		t.Errorf("with a runner: got %s, want PENDING", got)
	}
	if got := s.Verdict(b).Status; got != registry.VerdictNone {
		t.Errorf("task without tests: got %s, want NONE", got)
	}
	sub, err := feed.Subscribe(-1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before, catalogue := s.ContentDigest(), s.CatalogueDigest()
	passed := registry.NewVerdict(a.TestDigest, []registry.CaseResult{{File: "tests/one.json", Status: registry.CasePassed, Duration: time.Millisecond}})
	if !reg.SetVerdict(a, passed) {
		t.Fatal("the first verdict did not swap")
	}
	s = reg.Snapshot()
	if got := s.Verdict(a); got.Status != registry.VerdictPassed || got.Passed() != 1 || got.Failed() != 0 {
		t.Errorf("got %+v, want PASSED 1/0", got)
	}
	if s.ContentDigest() == before {
		t.Error("the content digest did not change with the verdict")
	}
	if s.CatalogueDigest() != catalogue {
		t.Error("the catalogue digest changed with a verdict, which it leaves out")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := sub.Next(ctx)
	if err != nil || e.Kind != registry.VerdictChanged || e.ID != id1 || e.Version != "1.0.0" || e.Generation != s.Generation {
		t.Errorf("got event %+v (%v), want VERDICT_CHANGED for %s 1.0.0 at %d", e, err, id1, s.Generation)
	}
	again := registry.NewVerdict(a.TestDigest, []registry.CaseResult{{File: "tests/one.json", Status: registry.CasePassed, Duration: 2 * time.Millisecond}})
	if reg.SetVerdict(a, again) {
		t.Error("the same outcome, slower, swapped")
	}

	// The test changes: the verdict kept is for other files, and one made
	// from the old files is dropped.
	writeTree(t, dir, files{"tests/one.json": `{"input": {"a": 2}, "expected_output": {}}`}.Under("a"))
	load()
	s = reg.Snapshot()
	a2, _ := s.Task(id1, "1.0.0")
	if a2.TestDigest == a.TestDigest {
		t.Fatal("the test digest did not change with the test")
	}
	if got := s.Verdict(a2).Status; got != registry.VerdictPending {
		t.Errorf("after the test changed: got %s, want PENDING", got)
	}
	if reg.SetVerdict(a, passed) {
		t.Error("a verdict for the old files was taken")
	}
	// A change to metadata alone keeps the verdict.
	if !reg.SetVerdict(a2, registry.NewVerdict(a2.TestDigest, []registry.CaseResult{{File: "tests/one.json", Status: registry.CaseFailed, Message: "m"}})) {
		t.Fatal("the new verdict did not swap")
	}
	writeTree(t, dir, files{"metadata.json": `{"uuid": "` + id1 + `", "version": "1.0.0", "label": "renamed"}`}.Under("a"))
	load()
	s = reg.Snapshot()
	a3, _ := s.Task(id1, "1.0.0")
	if a3.Label != "renamed" || s.Verdict(a3).Status != registry.VerdictFailed {
		t.Errorf("after a label change: got %q %s, want renamed FAILED", a3.Label, s.Verdict(a3).Status)
	}
}

// TestCapped: a result is cut to its caps with notes that say so, on a
// rune boundary, the notes within the cap, and capping again cuts
// nothing more.
func TestCapped(t *testing.T) {
	big := strings.Repeat("é", 6<<20) // 12 MiB
	tests := []struct {
		name      string
		in        registry.CaseResult
		msg, raw  int
		message   string // the message got ends with it
		keepValue bool
	}{
		{"small", registry.CaseResult{Message: "threw Error: x", Actual: []byte(`{"a":1}`), Expected: []byte(`{"a":2}`)}, 8 << 10, 64 << 10, "threw Error: x", true},
		{"huge message", registry.CaseResult{Message: "threw Error: " + big, Actual: []byte(`null`)}, 8 << 10, 64 << 10, "é… (truncated: 12 MiB message over the 8 KiB limit)", true},
		{"huge values", registry.CaseResult{Message: "differs", Actual: []byte(`"` + big + `"`), Expected: []byte(`"` + big + `"`)}, 8 << 10, 64 << 10,
			"differs (actual: 12 MiB over the 64 KiB limit, not kept) (expected: 12 MiB over the 64 KiB limit, not kept)", false},
		{"all at a small share", registry.CaseResult{Message: big, Actual: []byte(`"` + big + `"`)}, 256, 128,
			"… (truncated: 12 MiB message over the 256 bytes limit) (actual: 12 MiB over the 128 bytes limit, not kept)", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Capped(tc.msg, tc.raw)
			if len(got.Message) > tc.msg || !utf8.ValidString(got.Message) || !strings.HasSuffix(got.Message, tc.message) {
				t.Errorf("got a message of %d bytes ending %q, want at most %d ending %q", len(got.Message), got.Message[max(len(got.Message)-120, 0):], tc.msg, tc.message)
			}
			if kept := got.Actual != nil; kept != tc.keepValue || len(got.Actual) > tc.raw || len(got.Expected) > tc.raw {
				t.Errorf("got actual of %d bytes, expected of %d, want values kept %v, each at most %d", len(got.Actual), len(got.Expected), tc.keepValue, tc.raw)
			}
			if again := got.Capped(tc.msg, tc.raw); again.Message != got.Message {
				t.Errorf("capped again: got %q, want %q", again.Message, got.Message)
			}
		})
	}
}

// TestTouched: once a runner makes verdicts, the registry lists for it
// the task versions each load added, changed or removed, and no other;
// it asks for a look at everything after EnableVerdicts, and when more
// changed between two asks than a list is worth.
func TestTouched(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b"), taskFiles(id2, "2.0.0").Under("c")))
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(sourcetest.Named(dir))
	load := func() {
		u := scanDir(taskformat.NewLoader(), dir, 0)
		u.Source = idx
		reg.Apply(u)
	}
	load()
	if _, ids, all := reg.Touched(); len(ids) != 0 || all {
		t.Errorf("without a runner: got %v, all %t; want nothing listed", ids, all)
	}
	reg.EnableVerdicts()
	if _, ids, all := reg.Touched(); !all || ids != nil {
		t.Errorf("after EnableVerdicts: got %v, all %t; want all", ids, all)
	}
	for _, step := range []struct {
		name string
		edit func()
		want []string
	}{
		{"asked again", func() {}, nil},
		{"a test file saved", func() {
			write(t, filepath.Join(dir, "b", "tests", "one.json"), `{"input": {"a": 2}, "expected_output": {}}`)
		}, []string{id2 + "@1.0.0"}},
		{"a description edited", func() {
			write(t, filepath.Join(dir, "a", "metadata.json"), `{"uuid": "`+id1+`", "version": "1.0.0", "label": "a", "description": "new"}`)
		}, []string{id1 + "@1.0.0"}},
		{"a version removed", func() {
			if err := os.RemoveAll(filepath.Join(dir, "c")); err != nil {
				t.Fatal(err)
			}
		}, []string{id2 + "@2.0.0"}},
		{"a version moved to another folder", func() {
			if err := os.Rename(filepath.Join(dir, "b"), filepath.Join(dir, "d")); err != nil {
				t.Fatal(err)
			}
		}, []string{id2 + "@1.0.0"}},
		{"nothing changed", func() {}, nil},
	} {
		step.edit()
		load()
		snap, ids, all := reg.Touched()
		if all || !slices.Equal(ids, step.want) {
			t.Errorf("%s: got %v, all %t; want %v", step.name, ids, all, step.want)
		}
		if snap != reg.Snapshot() {
			t.Errorf("%s: got generation %d, want the current %d", step.name, snap.Generation, reg.Snapshot().Generation)
		}
	}

	a, _ := reg.Snapshot().Task(id1, "1.0.0")
	many := make([]registry.RootResult, registry.MaxTouched+1)
	for i := range many {
		c := *a
		c.ID, c.Root = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), fmt.Sprintf("many/%d", i)
		many[i] = registry.RootResult{Root: c.Root, Task: &c}
	}
	reg.Apply(registry.Update{Source: idx, Results: many})
	if _, ids, all := reg.Touched(); !all || ids != nil {
		t.Errorf("after %d versions changed: got %d listed, all %t; want all", len(many), len(ids), all)
	}
}
