package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/ratchet-tasks/ratchet-registry/schema"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !watchertest.Eventually(10*time.Second, cond) {
		tb.Fatalf("never saw %s within 10s", what)
	}
}

// rawGet sends one request on its own connection and reads the status
// line and body.
func rawGet(tb testing.TB, c net.Conn, path string) (int, string) {
	tb.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func dial(tb testing.TB, url string) net.Conn {
	tb.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestConnectionLimit fills the server with idle connections: past
// max_connections the next ones answer only health and metrics, past the
// headroom a connection gets a 503 at once; closing frees the slots.
func TestConnectionLimit(t *testing.T) {
	const max = 3
	s := startServer(t, catalogue, func(c *Config) { c.Limits.MaxConnections = max })
	var idle []net.Conn
	for range max {
		idle = append(idle, dial(t, s.url))
	}
	waitFor(t, "the idle connections accepted", func() bool { return s.ln.open.Load() == max })

	spare := dial(t, s.url)
	if status, body := rawGet(t, spare, "/graphql?query=%7Btasks%7Bid%7D%7D"); status != 503 || !strings.Contains(body, "server.max_connections") {
		t.Errorf("graphql on a spare connection: got %d %q, want 503 naming server.max_connections", status, body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, _ := rawGet(t, dial(t, s.url), path); status != 200 {
			t.Errorf("%s past the limit: got %d, want 200", path, status)
		}
	}
	for range spareHeadroom {
		idle = append(idle, dial(t, s.url))
	}
	waitFor(t, "the headroom taken", func() bool { return s.ln.open.Load() == max+spareHeadroom })
	over := dial(t, s.url)
	_ = over.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), "server.max_connections") {
		t.Errorf("past the headroom: got %d %q, want 503 naming server.max_connections", resp.StatusCode, body)
	}
	for _, c := range idle {
		c.Close()
	}
	waitFor(t, "the slots freed", func() bool { return s.ln.open.Load() <= 1 })
	if status, _ := rawGet(t, dial(t, s.url), "/graphql?query=%7Btasks%7Bid%7D%7D"); status != 200 {
		t.Errorf("after the clients left: got %d, want 200", status)
	}
}

// TestReadAndIdleTimeouts: a client that never finishes its body, and a
// keep-alive connection left idle, are closed by the server; a stream
// outlives the read timeout.
func TestReadAndIdleTimeouts(t *testing.T) {
	s := startServer(t, catalogue, func(c *Config) {
		c.Limits.ReadTimeout, c.Limits.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	})
	closed := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadAll(c) // returns when the server closes
		return err == nil
	}
	slow := dial(t, s.url)
	fmt.Fprintf(slow, "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":")
	if !closed(slow) {
		t.Error("a slow body was not cut off")
	}
	idle := dial(t, s.url)
	if status, _ := rawGet(t, idle, "/healthz"); status != 200 {
		t.Fatalf("got %d", status)
	}
	if !closed(idle) {
		t.Error("an idle keep-alive connection was not closed")
	}
	waitFor(t, "the connections released", func() bool { return s.ln.open.Load() == 0 })

	// Streams live past the read timeout: SSE heartbeats keep coming,
	// and a WebSocket opened before still answers a ping after them.
	w := dialWS(t, s.url).init()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, read := openSSE(t, ctx, s.url, eventsQuery, nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	for start := time.Now(); time.Since(start) < 4*300*time.Millisecond; {
		if e := read(); e.event != "comment" {
			t.Fatalf("got %+v after %s, want heartbeats", e, time.Since(start))
		}
	}
	w.send(map[string]any{"type": "ping"})
	w.expect("pong")
}

// TestStreamLimit: past max_streams an SSE request or a WebSocket upgrade
// gets a 503 naming the limit, and health still answers.
func TestStreamLimit(t *testing.T) {
	s := startServer(t, catalogue, func(c *Config) { c.Limits.MaxStreams = 2 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		if resp, _ := openSSE(t, ctx, s.url, eventsQuery, nil, ""); resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	}
	body, _ := json.Marshal(map[string]any{"query": eventsQuery})
	req, _ := http.NewRequest("POST", s.url+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	status, _, answer := do(t, req)
	if status != 503 || !strings.Contains(messages(answer), "server.max_streams") {
		t.Errorf("third SSE stream: got %d %v, want 503 naming server.max_streams", status, answer)
	}
	c, resp, err := websocket.Dial(context.Background(), strings.Replace(s.url, "http", "ws", 1)+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{wsProtocol}})
	if c != nil {
		c.CloseNow()
	}
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("WebSocket past the limit: got %v %v, want 503", resp, err)
	}
	if status, _, _ := request(t, "GET", s.url+"/healthz", "", nil); status != 200 {
		t.Errorf("health: got %d", status)
	}
	cancel()
	waitFor(t, "the streams released", func() bool { return s.srv.gql.streams.n.Load() == 0 })
	if resp, _ := openSSE(t, context.Background(), s.url, "{ registry { taskCount } }", nil, ""); resp.StatusCode != 200 {
		t.Errorf("after the streams ended: got %d, want 200", resp.StatusCode)
	}
}

// TestSubscriptionLimit: max_subscriptions counts over every socket and
// SSE stream; the one past it is refused with an error naming the limit.
func TestSubscriptionLimit(t *testing.T) {
	s := startServer(t, catalogue, func(c *Config) { c.Limits.MaxSubscriptions = 2 })
	a, b := dialWS(t, s.url).init(), dialWS(t, s.url).init()
	a.send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": eventsQuery}})
	b.send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": eventsQuery}})
	waitFor(t, "two subscribers", func() bool { return s.feed.Subscribers() == 2 })
	b.send(map[string]any{"type": "subscribe", "id": "2", "payload": map[string]any{"query": eventsQuery}})
	if m := b.expect("error"); m.ID != "2" || !strings.Contains(string(m.Payload), "server.max_subscriptions") {
		t.Errorf("got %s %s, want an error naming server.max_subscriptions", m.ID, m.Payload)
	}
	resp, _ := openSSE(t, context.Background(), s.url, eventsQuery, nil, "")
	if resp.StatusCode != 503 {
		t.Errorf("SSE subscription past the limit: got %d, want 503", resp.StatusCode)
	}
	// Queries do not count: they hold nothing open.
	b.send(map[string]any{"type": "subscribe", "id": "q", "payload": map[string]any{"query": "{ registry { taskCount } }"}})
	b.expect("next")
	a.send(map[string]any{"type": "complete", "id": "1"})
	waitFor(t, "one subscriber", func() bool { return s.feed.Subscribers() == 1 })
	waitFor(t, "the slot freed", func() bool { return s.srv.gql.subscriptions.n.Load() == 1 })
	b.send(map[string]any{"type": "subscribe", "id": "3", "payload": map[string]any{"query": eventsQuery}})
	waitFor(t, "the new subscriber", func() bool { return s.feed.Subscribers() == 2 })
}

// bigScript is a catalogue whose add task has a main.js of size bytes.
func bigScript(tb testing.TB, size int) string {
	tb.Helper()
	dir := tb.TempDir()
	copyDir(tb, catalogue, dir)
	script := "(function(input) { return input; })\n//" + strings.Repeat("x", size)
	if err := os.WriteFile(filepath.Join(dir, "add", "main.js"), []byte(script), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func aliases(n int, sel string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, sel)
	}
	return b.String() + " }"
}

// TestAnswerSizeLimit is the attack of issue 9: 400 aliases of
// tasks { script } over a 4 MiB script (1.68 GB of answer before). It is
// refused naming the limit, and the request allocates a small multiple of
// the limit, not the answer it asked for.
func TestAnswerSizeLimit(t *testing.T) {
	ts := newTestServer(t, bigScript(t, 4<<20))
	const limit = 16 << 20
	ts.exec.Limits.MaxAnswerBytes = limit
	ts.exec.Limits.Timeout = 5 * time.Minute // on a loaded machine too, the size is what ends it
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	status, _, body := post(t, ts.URL, "application/graphql-response+json", aliases(400, "tasks { script }"), nil)
	runtime.ReadMemStats(&after)
	if status != 400 || !strings.Contains(messages(body), "server.max_answer_bytes") || body["data"] != nil {
		t.Errorf("got %d %.200v, want 400 naming server.max_answer_bytes and no data", status, body)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8*limit {
		t.Errorf("the request allocated %d MB, want under %d MB", alloc>>20, 8*limit>>20)
	}
	// The same over a stream: an error result, not the answer.
	resp, read := openSSE(t, context.Background(), ts.URL, aliases(400, "tasks { script }"), nil, "")
	if e := nextEvent(read); resp.StatusCode != 200 || !strings.Contains(e.data, "server.max_answer_bytes") {
		t.Errorf("over SSE: got %d %.200s", resp.StatusCode, e.data)
	}
	// A small answer still goes through.
	if status, _, body := post(t, ts.URL, "", "{ tasks { id } }", nil); status != 200 {
		t.Errorf("got %d %v", status, body)
	}
}

// TestQueryCostLimit: a query that would cost more than max_cost is
// refused before it runs, on every transport.
func TestQueryCostLimit(t *testing.T) {
	ts := newTestServer(t, catalogue)
	ts.exec.Limits.MaxCost = 500
	q := aliases(100, "tasks { id label description }")
	status, _, body := post(t, ts.URL, "application/graphql-response+json", q, nil)
	if status != 400 || !strings.Contains(messages(body), "server.max_cost") {
		t.Errorf("HTTP: got %d %.200v, want 400 naming server.max_cost", status, body)
	}
	resp, _ := openSSE(t, context.Background(), ts.URL, q, nil, "")
	if resp.StatusCode != 400 {
		t.Errorf("SSE: got %d, want 400", resp.StatusCode)
	}
	w := dialWS(t, ts.URL).init()
	w.send(map[string]any{"type": "subscribe", "id": "q", "payload": map[string]any{"query": q}})
	if m := w.expect("error"); !strings.Contains(string(m.Payload), "server.max_cost") {
		t.Errorf("WebSocket: got %s", m.Payload)
	}
	if status, _, _ := post(t, ts.URL, "", "{ tasks { id } }", nil); status != 200 {
		t.Errorf("a cheap query: got %d", status)
	}
}

// TestStreamTimeout: server.timeout holds over SSE and WebSocket too, and
// the resolver has stopped when the client hears of it.
func TestStreamTimeout(t *testing.T) {
	stopped := make(chan struct{}, 2)
	sch, err := schema.New(schema.Deps{Content: taskformat.NewContent(0), Feed: registry.NewFeed(8, 8), Reload: func(ctx context.Context) (int64, error) {
		<-ctx.Done()
		stopped <- struct{}{}
		return 0, ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	limits := schema.DefaultLimits()
	limits.Timeout = 50 * time.Millisecond
	s := startServer(t, catalogue, func(c *Config) { c.Executor = &schema.Executor{Schema: sch, Limits: limits} })
	resp, read := openSSE(t, context.Background(), s.url, "mutation { reload }", nil, "")
	if e := nextEvent(read); resp.StatusCode != 200 || !strings.Contains(e.data, "server.timeout") {
		t.Errorf("SSE: got %d %s, want an error naming server.timeout", resp.StatusCode, e.data)
	}
	select {
	case <-stopped:
	default:
		t.Error("SSE: the resolver was still running when the answer came")
	}
	w := dialWS(t, s.url).init()
	w.send(map[string]any{"type": "subscribe", "id": "m", "payload": map[string]any{"query": "mutation { reload }"}})
	if m := w.expect("next"); !strings.Contains(string(m.Payload), "server.timeout") {
		t.Errorf("WebSocket: got %s, want an error naming server.timeout", m.Payload)
	}
	select {
	case <-stopped:
	default:
		t.Error("WebSocket: the resolver was still running when the answer came")
	}
}

// TestCostCountsDefaultsAndSpreads: the two ways around max_cost that
// came in as page sizes the cost did not see (a variable's default, and a
// fragment first spread under an empty page) are refused before they run.
func TestCostCountsDefaultsAndSpreads(t *testing.T) {
	ts := newTestServer(t, catalogue)
	const nodes = "nodes { id version label description source path stale digest metadata inputSchema outputSchema script }"
	tests := []struct{ name, query string }{
		// Fragments keep them within schema.MaxSelections.
		{"a variable's default", "query Q($n: Int = 1000) " + aliases(420, "taskPage(first: $n) { ...F }") + " fragment F on TaskPage { " + nodes + " }"},
		{"a fragment under an empty page first", "{ z: taskPage(first: 0) { ...F } " + aliases(420, "taskPage(first: 1000) { ...F }")[1:] + " fragment F on TaskPage { " + nodes + " }"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, ts.URL, "application/graphql-response+json", tc.query, nil)
			if status != 400 || !strings.Contains(messages(body), "server.max_cost") {
				t.Errorf("got %d %.300v, want 400 naming server.max_cost", status, body)
			}
		})
	}
}
