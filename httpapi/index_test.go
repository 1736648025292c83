package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

func getIndex(t *testing.T, url string) (taskformat.Index, string) {
	t.Helper()
	resp, err := http.Get(url + "/v1/index.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var idx taskformat.Index
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	return idx, resp.Header.Get("ETag")
}

func entryOf(idx taskformat.Index, id string) (taskformat.IndexEntry, bool) {
	for _, e := range idx.Tasks {
		if e.ID == id {
			return e, true
		}
	}
	return taskformat.IndexEntry{}, false
}

const addTaskID = "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

// TestIndexKeepsStaleTasks: a task whose files break is still served,
// stale, so it stays in the index with the bundle it had, though that
// bundle can no longer be built from its files.
func TestIndexKeepsStaleTasks(t *testing.T) {
	ts, dir := liveServer(t)
	idx, etag := getIndex(t, ts.URL)
	before, ok := entryOf(idx, addTaskID)
	if !ok || idx.APIVersion != taskformat.IndexAPIVersion || len(idx.Tasks) != 5 {
		t.Fatalf("got %+v", idx)
	}
	resp, err := http.Get(ts.URL + "/" + "v1/" + before.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || int64(len(body)) != before.Size {
		t.Fatalf("bundle: got %d with %d bytes, want 200 with %d", resp.StatusCode, len(body), before.Size)
	}

	if err := os.WriteFile(filepath.Join(dir, "add", "main.js"), []byte("(function( {"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.rescan(t)
	if task, _ := ts.reg.Snapshot().Task(addTaskID, ""); task == nil || !task.Stale {
		t.Fatalf("want the task stale")
	}
	idx, etag2 := getIndex(t, ts.URL)
	after, ok := entryOf(idx, addTaskID)
	if !ok || after != before {
		t.Errorf("got %+v, want the stale task listed as before: %+v", after, before)
	}
	if etag2 != etag {
		t.Errorf("the index did not change, but its ETag did: %s → %s", etag, etag2)
	}
	resp, err = http.Get(ts.URL + "/v1/" + before.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("bundle of a stale task whose files changed: got %d, want 409", resp.StatusCode)
	}
}

// TestIndexCostFollowsChange: after one saved file, the index builds that
// task's bundle alone; the others are known by their digests.
func TestIndexCostFollowsChange(t *testing.T) {
	ts, dir := liveServer(t)
	content := taskformat.NewContent(0) // no cache: a bundle asked for is built
	built := map[string]int{}
	h := &indexHandler{reg: ts.reg, content: content, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		bundle: func(task *registry.Task) (taskformat.Bundle, error) {
			built[task.ID+"@"+task.Version]++
			return content.Bundle(task)
		}}
	first, _ := h.index()
	if len(built) != 5 {
		t.Fatalf("first index: built %v, want every one of the 5 versions", built)
	}
	clear(built)
	ts.relabel(t, dir, "Plus")
	second, _ := h.index()
	if want := map[string]int{addTaskID + "@1.0.0": 1}; !maps.Equal(built, want) {
		t.Errorf("after one save: built %v, want %v", built, want)
	}
	if bytes.Equal(first, second) {
		t.Error("the index did not change with the task")
	}
	// Written piece by piece, the index is the same document as
	// encoding/json's indented form.
	want, err := json.MarshalIndent(mustIndex(t, ts.reg.Snapshot(), content), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second, want) {
		t.Errorf("got index\n%s\nwant\n%s", second, want)
	}
}

// TestIndexEmpty: an index of no task is the same document as
// encoding/json's.
func TestIndexEmpty(t *testing.T) {
	reg := registry.New(time.Now, nil)
	u := registry.Update{Complete: true}
	u.Source = reg.AddSource(newCatalogueSource(t, t.TempDir()))
	reg.Apply(u)
	content := taskformat.NewContent(0)
	h := &indexHandler{reg: reg, content: content, log: slog.New(slog.DiscardHandler), bundle: content.Bundle}
	got, _ := h.index()
	want, err := json.MarshalIndent(mustIndex(t, reg.Snapshot(), content), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func mustIndex(t *testing.T, s *registry.Snapshot, content *taskformat.Content) taskformat.Index {
	t.Helper()
	idx, errs := taskformat.BuildIndex(s, content.Bundle)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return idx
}

// TestIndexWaitsForTheFirstLoad: while a source is still loading, the
// index is a 503, not a short list that would make every registry pulling
// from this one drop the tasks it has.
func TestIndexWaitsForTheFirstLoad(t *testing.T) {
	ts := newTestServer(t, catalogue)
	second := newCatalogueSource(t, catalogue)
	at := ts.reg.AddSource(second) // not loaded yet
	resp, err := http.Get(ts.URL + "/v1/index.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d, want 503 with Retry-After", resp.StatusCode)
	}
	u, _, _ := registry.FirstLoad(t.Context(), second)
	u.Source = at
	ts.reg.Apply(u)
	if idx, _ := getIndex(t, ts.URL); len(idx.Tasks) == 0 {
		t.Error("once loaded: got an index without tasks")
	}
}
