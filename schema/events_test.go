package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestEventTasks: an error event on a task that is served stale names the
// task and carries it; a removed task carries no verdict, since it is no
// longer tested (it showed PENDING 0/0).
func TestEventTasks(t *testing.T) {
	c := newCatalogue(t)
	feed := registry.NewFeed(64, 64)
	c.reg = registry.New(time.Now, feed) // before the first rescan, which serves c.src on it
	c.reg.EnableVerdicts()
	c.write(1, "Add", "")
	snap := c.rescan()
	sch, err := New(Deps{Content: taskformat.NewContent(1 << 10), Feed: feed})
	if err != nil {
		t.Fatal(err)
	}
	x := &Executor{Schema: sch, Limits: DefaultLimits()}
	q := `subscription($since: Int) { registryEvents(since: $since) { kind id version task { id stale verdict { status total } } error { path } } }`
	req := Request{Query: q, Variables: map[string]any{"since": float64(snap.Generation)}}
	p, f := x.Prepare(req)
	if f != nil {
		t.Fatal(f.Errors)
	}
	stream, f := x.Subscribe(t.Context(), feed, c.reg.Snapshot, p, req, nil)
	if f != nil {
		t.Fatal(f.Errors)
	}
	defer stream.Close()
	next := func() string {
		t.Helper()
		select {
		case m := <-stream.Messages():
			b, _ := json.Marshal(m.Result.Data)
			return strings.NewReplacer(uuidOf(1), "ID", c.dir+string(filepath.Separator), "").Replace(string(b))
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return ""
		}
	}
	if err := os.WriteFile(filepath.Join(c.dir, "t00001", "metadata.json"), []byte(`{"uuid": "`+uuidOf(1)+`", "version": "1.0.0",`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.rescan()
	got := []string{next(), next()}
	want := []string{
		`{"registryEvents":{"error":{"path":"t00001/metadata.json"},"id":"ID","kind":"ERROR_RAISED","task":{"id":"ID","stale":true,"verdict":{"status":"NONE","total":0}},"version":"1.0.0"}}`,
		`{"registryEvents":{"error":null,"id":"ID","kind":"TASK_UPDATED","task":{"id":"ID","stale":true,"verdict":{"status":"NONE","total":0}},"version":"1.0.0"}}`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: got\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
	c.remove(1)
	c.rescan()
	var removed string
	for removed == "" || !strings.Contains(removed, "TASK_REMOVED") {
		removed = next()
	}
	if want := `"task":{"id":"ID","stale":true,"verdict":null}`; !strings.Contains(removed, want) {
		t.Errorf("got\n%s\nwant a task with %s", removed, want)
	}
}
