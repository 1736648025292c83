package registry_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestChangedSince: a snapshot lists the tasks that the swaps since an
// older snapshot of its registry replaced, and refuses what it cannot
// vouch for: another registry, a later snapshot, a gap over the bound.
func TestChangedSince(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, mergeFiles(taskFiles(id1, "1.0.0").Under("a"), taskFiles(id2, "1.0.0").Under("b")))
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(sourcetest.Named(dir))
	load := func() *registry.Snapshot {
		u := scanDir(taskformat.NewLoader(), dir, 0)
		u.Source = idx
		s, _ := reg.Apply(u)
		return s
	}
	s0 := load()
	write(t, filepath.Join(dir, "a", "metadata.json"), `{"uuid": "`+id1+`", "version": "1.0.0", "label": "a", "description": "new"}`)
	s1 := load()
	reg.EnableVerdicts() // a swap that replaces no task
	s2 := reg.Snapshot()
	other := loadDir(t, dir)
	for _, c := range []struct {
		name     string
		from, to *registry.Snapshot
		want     []string
		ok       bool
	}{
		{"one save", s0, s1, []string{id1}, true},
		{"a save and a swap of no task", s0, s2, []string{id1}, true},
		{"the same snapshot", s1, s1, nil, true},
		{"a swap of no task", s1, s2, nil, true},
		{"backwards", s2, s0, nil, false},
		{"another registry", other, s2, nil, false},
		{"nothing", nil, s2, nil, false},
	} {
		got, ok := c.to.ChangedSince(c.from)
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, %t; want %v, %t", c.name, got, ok, c.want, c.ok)
		}
	}

	// A swap that replaced more tasks than the bound ends what can be
	// listed: every older snapshot must look at the whole catalogue.
	base, _ := s2.Task(id1, "")
	u := registry.Update{Source: reg.AddSource(sourcetest.Named("synthetic"))}
	for i := range registry.MaxTouched + 1 {
		task := *base
		task.ID = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i+1)
		task.Root = fmt.Sprint(i)
		u.Results = append(u.Results, registry.RootResult{Root: task.Root, Task: &task})
	}
	s3, _ := reg.Apply(u)
	if got, ok := s3.ChangedSince(s2); ok {
		t.Errorf("past the bound: got %d uuids, ok; want a refusal", len(got))
	}
	write(t, filepath.Join(dir, "b", "metadata.json"), `{"uuid": "`+id2+`", "version": "1.0.0", "label": "b", "description": "new"}`)
	s4 := load()
	if got, ok := s4.ChangedSince(s3); !ok || !slices.Equal(got, []string{id2}) {
		t.Errorf("after the bound: got %v, %t; want [%s], true", got, ok, id2)
	}
}
