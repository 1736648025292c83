package registry_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/sourcetest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestErrorEventsNameTheirTask: an error on a task that is served (stale)
// carries the task's id and version, raised and cleared; an error on a
// root that never loaded has none to give.
func TestErrorEventsNameTheirTask(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, taskFiles(id1, "1.0.0").Under("a"))
	ld := taskformat.NewLoader()
	reg := registry.New(time.Now, nil)
	idx := reg.AddSource(sourcetest.Named(dir))
	scan := func() []registry.Event {
		u := scanDir(ld, dir, 0)
		u.Source = idx
		events := reg.ApplyEvents(u)
		return events
	}
	scan()
	write(t, filepath.Join(dir, "a", "main.js"), "(function(input) {")
	writeTree(t, dir, files{"b/metadata.json": "{"})
	tests := []struct {
		name   string
		change func()
		want   string
	}{
		{"raised", func() {}, "ERROR_RAISED @ b/input.schema.json; ERROR_RAISED @ b/main.js; ERROR_RAISED @ b/metadata.json; ERROR_RAISED @ b/output.schema.json; " +
			"ERROR_RAISED " + id1 + "@1.0.0 a/main.js; TASK_UPDATED " + id1 + "@1.0.0 -"},
		{"cleared", func() {
			write(t, filepath.Join(dir, "a", "main.js"), taskFiles(id1, "1.0.0")["main.js"])
			if err := os.RemoveAll(filepath.Join(dir, "b")); err != nil {
				t.Fatal(err)
			}
		}, "ERROR_CLEARED @ b/input.schema.json; ERROR_CLEARED @ b/main.js; ERROR_CLEARED @ b/metadata.json; ERROR_CLEARED @ b/output.schema.json; " +
			"ERROR_CLEARED " + id1 + "@1.0.0 a/main.js; TASK_UPDATED " + id1 + "@1.0.0 -"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			var got []string
			for _, e := range scan() {
				where := "-"
				if e.Error != nil {
					where, _ = filepath.Rel(dir, e.Error.Path)
				}
				got = append(got, fmt.Sprintf("%s %s@%s %s", e.Kind, e.ID, e.Version, where))
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, "; "), tc.want)
			}
		})
	}
}
