package httpapi

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// failingCatalogue serves n tasks whose verdicts hold two failed cases
// each, with messages of size bytes: what tasks that throw huge errors
// leave in the catalogue.
func failingCatalogue(tb testing.TB, n, size int) *testServer {
	tb.Helper()
	dir := tb.TempDir()
	for i := range n {
		id := fmt.Sprintf("%08x-1111-4111-8111-111111111111", i)
		registrytest.WriteTree(tb, dir, registrytest.Task(id, "1.0.0").With("tests/two.json", `{"input": {"a": 2}, "expected_output": {}}`).Under(fmt.Sprint("t", i)))
	}
	ts := newTestServer(tb, dir)
	// Angle brackets are six bytes each in the answer: the count must
	// follow the JSON, not the Go string.
	msg := strings.Repeat("Error: <x> ", size/11)
	for _, task := range ts.reg.Snapshot().Latest() {
		v := registry.NewVerdict(task.TestDigest, []registry.CaseResult{
			{File: "tests/one.json", Status: registry.CaseError, Message: msg, Duration: time.Millisecond},
			{File: "tests/two.json", Status: registry.CaseError, Message: msg, Duration: time.Millisecond},
		})
		if !ts.reg.SetVerdict(task, v) {
			tb.Fatalf("the verdict of %s was not taken", task.ID)
		}
	}
	if got := ts.reg.Snapshot().TaskCount(); got != n {
		tb.Fatalf("got %d tasks, want %d", got, n)
	}
	return ts
}

// TestAnswerCountedAsBuilt: 30 tasks with two 1 MiB messages each (60 MiB,
// about 120 MiB as JSON) under a 4 MiB max_answer_bytes. The answer is
// counted while it is built: the request is stopped with an error naming
// the limit once it passes it, having allocated a small multiple of the
// limit, not the answer. Cut with maxBytes, every task is shown.
func TestAnswerCountedAsBuilt(t *testing.T) {
	const n, size, limit = 30, 1 << 20, 4 << 20
	ts := failingCatalogue(t, n, size)
	ts.exec.Limits.MaxAnswerBytes = limit
	ts.exec.Limits.Timeout = 5 * time.Minute // on a loaded machine too, the size is what ends it

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	status, _, body := post(t, ts.URL, "application/graphql-response+json", "{ tasks { verdict { cases { message } } } }", nil)
	runtime.ReadMemStats(&after)
	if status != 400 || !strings.Contains(messages(body), "server.max_answer_bytes") || body["data"] != nil {
		t.Errorf("got %d %.200v, want 400 naming server.max_answer_bytes and no data", status, body)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > 4*limit {
		t.Errorf("the request allocated %d MB, want under %d MB", alloc>>20, 4*limit>>20)
	}
	t.Logf("the refused request allocated %.1f MB", float64(alloc)/(1<<20))

	status, _, body = post(t, ts.URL, "application/graphql-response+json", "{ tasks { label verdict { cases { message(maxBytes: 100) } } } }", nil)
	if status != 200 {
		t.Fatalf("cut to 100 bytes: got %d %.300v", status, body)
	}
	got := mustJSON(body)
	if c := strings.Count(got, `"label":`); c != n {
		t.Errorf("got %d tasks, want %d", c, n)
	}
	if c := strings.Count(got, "more bytes)"); c != 2*n {
		t.Errorf("got %d cut messages, want %d: %.500s", c, 2*n, got)
	}
}
