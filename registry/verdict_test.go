package registry

import (
	"context"
	"testing"
	"time"
)

// TestSetVerdict: a verdict is shown for the files it was made from only;
// one alike to the one shown changes nothing; a new one changes the
// snapshot, its content digest and the feed.
func TestSetVerdict(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	writeTree(t, dir, taskFiles(id2, "1.0.0").With("tests/one.json", "").Under("b"))
	feed := NewFeed(64, 64)
	reg := New(time.Now, feed)
	idx := reg.AddSource(fakeSource{name: dir})
	load := func() {
		u := scanDir(dir, 0)
		u.Source = idx
		reg.Apply(u)
	}
	load()
	s := reg.Snapshot()
	a, _ := s.Task(id1, "1.0.0")
	b, _ := s.Task(id2, "1.0.0")
	if got := s.Verdict(a).Status; got != VerdictNone {
		t.Errorf("before a runner: got %s, want NONE", got)
	}
	reg.EnableVerdicts()
	s = reg.Snapshot()
	if got := s.Verdict(a).Status; got != VerdictPending {
		t.Errorf("with a runner: got %s, want PENDING", got)
	}
	if got := s.Verdict(b).Status; got != VerdictNone {
		t.Errorf("task without tests: got %s, want NONE", got)
	}
	sub, err := feed.Subscribe(-1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	before, catalogue := s.ContentDigest(), s.CatalogueDigest()
	passed := NewVerdict(a.TestDigest, []CaseResult{{File: "tests/one.json", Status: CasePassed, Duration: time.Millisecond}})
	if !reg.SetVerdict(a, passed) {
		t.Fatal("the first verdict did not swap")
	}
	s = reg.Snapshot()
	if got := s.Verdict(a); got.Status != VerdictPassed || got.Passed() != 1 || got.Failed() != 0 {
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
	if err != nil || e.Kind != VerdictChanged || e.ID != id1 || e.Version != "1.0.0" || e.Generation != s.Generation {
		t.Errorf("got event %+v (%v), want VERDICT_CHANGED for %s 1.0.0 at %d", e, err, id1, s.Generation)
	}
	again := NewVerdict(a.TestDigest, []CaseResult{{File: "tests/one.json", Status: CasePassed, Duration: 2 * time.Millisecond}})
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
	if got := s.Verdict(a2).Status; got != VerdictPending {
		t.Errorf("after the test changed: got %s, want PENDING", got)
	}
	if reg.SetVerdict(a, passed) {
		t.Error("a verdict for the old files was taken")
	}
	// A change to metadata alone keeps the verdict.
	if !reg.SetVerdict(a2, NewVerdict(a2.TestDigest, []CaseResult{{File: "tests/one.json", Status: CaseFailed, Message: "m"}})) {
		t.Fatal("the new verdict did not swap")
	}
	writeTree(t, dir, files{"metadata.json": `{"uuid": "` + id1 + `", "version": "1.0.0", "label": "renamed"}`}.Under("a"))
	load()
	s = reg.Snapshot()
	a3, _ := s.Task(id1, "1.0.0")
	if a3.Label != "renamed" || s.Verdict(a3).Status != VerdictFailed {
		t.Errorf("after a label change: got %q %s, want renamed FAILED", a3.Label, s.Verdict(a3).Status)
	}
}
