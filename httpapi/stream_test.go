package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const eventsQuery = "subscription($since: Int) { registryEvents(since: $since) { generation kind id version task { label stale } error { path line } } }"

// liveServer serves a scratch copy of the catalogue that the test changes.
func liveServer(t *testing.T) (*testServer, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(catalogue)); err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, dir), dir
}

// relabel saves a new label for the add task and reloads.
func (ts *testServer) relabel(t *testing.T, dir, label string) {
	t.Helper()
	meta := `{"uuid": "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "version": "1.0.0", "label": "` + label + `", "description": "d"}`
	if err := os.WriteFile(filepath.Join(dir, "add", "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.rescan(t)
}

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, url string, protocols ...string) *wsClient {
	t.Helper()
	if protocols == nil {
		protocols = []string{"graphql-transport-ws"}
	}
	c, _, err := websocket.Dial(context.Background(), strings.Replace(url, "http", "ws", 1)+"/graphql", &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(m map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	if err := w.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next message, or the close status when the server
// closed the socket.
func (w *wsClient) read() (wsMessage, websocket.StatusCode) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		return wsMessage{}, websocket.CloseStatus(err)
	}
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		w.t.Fatal(err)
	}
	return m, -1
}

func (w *wsClient) expect(typ string) wsMessage {
	w.t.Helper()
	m, code := w.read()
	if m.Type != typ {
		w.t.Fatalf("got %+v (close %d), want %s", m, code, typ)
	}
	return m
}

func (w *wsClient) init() *wsClient {
	w.send(map[string]any{"type": "connection_init"})
	w.expect("connection_ack")
	return w
}

func TestWebSocketSubscription(t *testing.T) {
	ts, dir := liveServer(t)
	w := dialWS(t, ts.URL).init()
	w.send(map[string]any{"type": "ping", "payload": map[string]any{"x": 1}})
	if m := w.expect("pong"); string(m.Payload) != `{"x":1}` {
		t.Errorf("got pong %s, want the ping's payload", m.Payload)
	}
	w.send(map[string]any{"type": "subscribe", "id": "s1", "payload": map[string]any{"query": eventsQuery}})
	waitSubscribers(t, ts, 1)
	gen := ts.reg.Snapshot().Generation
	ts.relabel(t, dir, "Plus")
	m := w.expect("next")
	want := fmt.Sprintf(`{"data":{"registryEvents":{"error":null,"generation":%d,"id":"6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b","kind":"TASK_UPDATED","task":{"label":"Plus","stale":false},"version":"1.0.0"}}}`, gen+1)
	if m.ID != "s1" || string(m.Payload) != want {
		t.Errorf("got %s %s, want %s", m.ID, m.Payload, want)
	}

	// A second subscription replays from a generation it names.
	w.send(map[string]any{"type": "subscribe", "id": "s2", "payload": map[string]any{"query": eventsQuery, "variables": map[string]any{"since": gen}}})
	if m := w.expect("next"); m.ID != "s2" || !strings.Contains(string(m.Payload), `"label":"Plus"`) {
		t.Errorf("got %s %s, want the replayed event", m.ID, m.Payload)
	}

	// A query over the socket: one next, then complete.
	w.send(map[string]any{"type": "subscribe", "id": "q", "payload": map[string]any{"query": "{ registry { taskCount } }"}})
	if m := w.expect("next"); m.ID != "q" || string(m.Payload) != `{"data":{"registry":{"taskCount":3}}}` {
		t.Errorf("got %s %s", m.ID, m.Payload)
	}
	if m := w.expect("complete"); m.ID != "q" {
		t.Errorf("got complete for %s", m.ID)
	}

	// Validation errors are an error message for that id.
	w.send(map[string]any{"type": "subscribe", "id": "bad", "payload": map[string]any{"query": "subscription { nope }"}})
	if m := w.expect("error"); m.ID != "bad" || !strings.Contains(string(m.Payload), `Cannot query field \"nope\"`) {
		t.Errorf("got %s %s", m.ID, m.Payload)
	}

	// The cap on subscriptions per socket (3 in these tests).
	w.send(map[string]any{"type": "subscribe", "id": "s3", "payload": map[string]any{"query": eventsQuery}})
	waitSubscribers(t, ts, 3)
	w.send(map[string]any{"type": "subscribe", "id": "s4", "payload": map[string]any{"query": eventsQuery}})
	if m := w.expect("error"); m.ID != "s4" || !strings.Contains(string(m.Payload), "at most 3") {
		t.Errorf("got %s %s", m.ID, m.Payload)
	}

	// complete from the client ends a subscription.
	w.send(map[string]any{"type": "complete", "id": "s1"})
	waitSubscribers(t, ts, 2)
	w.c.Close(websocket.StatusNormalClosure, "")
	waitSubscribers(t, ts, 0)
}

func waitSubscribers(t *testing.T, ts *testServer, n int) {
	t.Helper()
	if !watchertest.Eventually(10*time.Second, func() bool { return ts.feed.Subscribers() == n }) {
		t.Fatalf("got %d subscribers, want %d", ts.feed.Subscribers(), n)
	}
}

func TestWebSocketProtocolErrors(t *testing.T) {
	ts, _ := liveServer(t)
	tests := []struct {
		name      string
		protocols []string
		steps     []map[string]any
		wantClose websocket.StatusCode
	}{
		{"no init in time", nil, nil, closeInitTimeout},
		{"subscribe before init", nil, []map[string]any{{"type": "subscribe", "id": "1", "payload": map[string]any{"query": "{ tasks { id } }"}}}, closeUnauthorized},
		{"init twice", nil, []map[string]any{{"type": "connection_init"}, {"type": "connection_init"}}, closeTooManyInitialise},
		{"same id twice", nil, []map[string]any{{"type": "connection_init"}, {"type": "subscribe", "id": "1", "payload": map[string]any{"query": eventsQuery}}, {"type": "subscribe", "id": "1", "payload": map[string]any{"query": eventsQuery}}}, closeSubscriberExists},
		{"unknown type", nil, []map[string]any{{"type": "hello"}}, closeInvalidMessage},
		{"no type", nil, []map[string]any{{"id": "x"}}, closeInvalidMessage},
		{"wrong subprotocol", []string{"graphql-ws"}, nil, closeBadSubprotocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := dialWS(t, ts.URL, tc.protocols...)
			for _, s := range tc.steps {
				w.send(s)
			}
			for {
				m, code := w.read()
				if code == -1 {
					continue // the ack and the like
				}
				if code != tc.wantClose {
					t.Errorf("got close %d (after %+v), want %d", code, m, tc.wantClose)
				}
				return
			}
		})
	}
}

// TestResync: a client asking for events that are no longer buffered is
// told to resync, not given a partial history.
func TestResync(t *testing.T) {
	ts, dir := liveServer(t)
	for i := range 40 { // two events each, over the 64 the test feed keeps
		ts.relabel(t, dir, fmt.Sprint("L", i))
		ts.relabel(t, dir, "Add")
	}
	w := dialWS(t, ts.URL).init()
	w.send(map[string]any{"type": "subscribe", "id": "old", "payload": map[string]any{"query": eventsQuery, "variables": map[string]any{"since": 1}}})
	if m := w.expect("error"); !strings.Contains(string(m.Payload), `"code":"RESYNC"`) {
		t.Errorf("got %s, want a RESYNC error", m.Payload)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, event, data string }

// openSSE subscribes over SSE and returns a reader of events.
func openSSE(t *testing.T, ctx context.Context, url, query string, vars map[string]any, lastID string) (*http.Response, func() sseEvent) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	sc := bufio.NewScanner(resp.Body)
	return resp, func() sseEvent {
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && (e.event != "" || e.data != ""):
				return e
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.event = line[7:]
			case strings.HasPrefix(line, "data:"):
				e.data = strings.TrimPrefix(line[5:], " ")
			case strings.HasPrefix(line, ":"):
				e.event = "comment"
				return e
			}
		}
		return sseEvent{event: "eof"}
	}
}

// nextEvent skips heartbeat comments.
func nextEvent(read func() sseEvent) sseEvent {
	for {
		if e := read(); e.event != "comment" {
			return e
		}
	}
}

func TestSSE(t *testing.T) {
	ts, dir := liveServer(t)
	resp, read := openSSE(t, context.Background(), ts.URL, eventsQuery, nil, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if e := read(); e.event != "comment" {
		t.Errorf("got %+v, want a heartbeat comment first", e)
	}
	waitSubscribers(t, ts, 1)
	gen := ts.reg.Snapshot().Generation
	ts.relabel(t, dir, "Sum")
	e := nextEvent(read)
	if e.event != "next" || e.id != fmt.Sprintf("%d:0:%s", gen+1, ts.feed.Instance()) || !strings.Contains(e.data, `"label":"Sum"`) {
		t.Errorf("got %+v", e)
	}
	ts.relabel(t, dir, "Sum2")
	e2 := nextEvent(read)
	resp.Body.Close()
	waitSubscribers(t, ts, 0)

	// Reconnecting with Last-Event-ID resumes after that event.
	_, read = openSSE(t, context.Background(), ts.URL, eventsQuery, nil, e.id)
	if got := nextEvent(read); got.id != e2.id || got.data != e2.data {
		t.Errorf("resumed with %+v, want %+v", got, e2)
	}

	// A query: one next, then complete.
	_, read = openSSE(t, context.Background(), ts.URL, "{ registry { taskCount } }", nil, "")
	if got := nextEvent(read); got.event != "next" || got.data != `{"data":{"registry":{"taskCount":3}}}` {
		t.Errorf("got %+v", got)
	}
	if got := nextEvent(read); got.event != "complete" {
		t.Errorf("got %+v, want complete", got)
	}

	// Invalid operations and ids are answered before any stream opens.
	for _, tc := range []struct{ query, lastID, want string }{
		{"subscription { nope }", "", `Cannot query field`},
		{eventsQuery, "yesterday", "Last-Event-ID"},
	} {
		resp, _ := openSSE(t, context.Background(), ts.URL, tc.query, nil, tc.lastID)
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != 400 || !strings.Contains(messages(body), tc.want) {
			t.Errorf("got %d %v, want 400 with %q", resp.StatusCode, body, tc.want)
		}
	}
}

// TestSubscribeCancelCycles opens and drops 1,000 subscriptions over both
// transports: graphql-go's own Subscribe would leak a goroutine for each
// (its issue 758); ours must leave none.
func TestSubscribeCancelCycles(t *testing.T) {
	ts, dir := liveServer(t)
	gen := ts.reg.Snapshot().Generation
	ts.relabel(t, dir, "Replayed")
	before := goleak.IgnoreCurrent()
	w := dialWS(t, ts.URL).init()
	for i := range 500 {
		// Each subscription replays the event after gen: receiving it
		// shows that the subscription was running when it was dropped.
		id := fmt.Sprint("c", i)
		w.send(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": eventsQuery, "variables": map[string]any{"since": gen}}})
		if m := w.expect("next"); m.ID != id || !strings.Contains(string(m.Payload), `"label":"Replayed"`) {
			t.Fatalf("subscription %s got %s %s, want the replayed event", id, m.ID, m.Payload)
		}
		w.send(map[string]any{"type": "complete", "id": id})
	}
	w.c.Close(websocket.StatusNormalClosure, "")
	for range 500 {
		ctx, cancel := context.WithCancel(context.Background())
		resp, read := openSSE(t, ctx, ts.URL, eventsQuery, nil, "")
		read()
		cancel()
		resp.Body.Close()
	}
	waitSubscribers(t, ts, 0)
	http.DefaultClient.CloseIdleConnections()
	if err := goleak.Find(before); err != nil {
		t.Error(err)
	}
}

// TestSSEGetMutation: a GET stream may not run a mutation: 405, as over
// plain HTTP.
func TestSSEGetMutation(t *testing.T) {
	ts, _ := liveServer(t)
	req, _ := http.NewRequest("GET", ts.URL+"/graphql?query="+strings.ReplaceAll("mutation { reload }", " ", "%20"), nil)
	req.Header.Set("Accept", "text/event-stream")
	status, header, body := do(t, req)
	if status != 405 || header.Get("Allow") != "POST" || !strings.Contains(messages(body), "POST") {
		t.Errorf("got %d (Allow %q) %v, want 405 and Allow: POST", status, header.Get("Allow"), body)
	}
	if n := ts.reloads.Load(); n != 0 {
		t.Errorf("the mutation ran %d times", n)
	}
}

// TestReplayShowsItsOwnGeneration: a replayed event is resolved against
// the snapshot its change made, not today's: the relabel event shows the
// versions of its moment, not the version added after it.
func TestReplayShowsItsOwnGeneration(t *testing.T) {
	ts, dir := liveServer(t)
	gen := ts.reg.Snapshot().Generation
	ts.relabel(t, dir, "Plus")
	copyDir(t, filepath.Join(dir, "add"), filepath.Join(dir, "add-2"))
	meta := `{"uuid": "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "version": "2.0.0", "label": "Plus two", "description": "d"}`
	if err := os.WriteFile(filepath.Join(dir, "add-2", "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.rescan(t)
	q := "subscription($since: Int) { registryEvents(since: $since) { generation kind version task { label availableVersions } } }"
	_, read := openSSE(t, context.Background(), ts.URL, q, map[string]any{"since": gen}, "")
	var got []string
	for range 2 {
		var m struct {
			Data struct {
				RegistryEvents struct {
					Version string
					Task    struct {
						Label             string
						AvailableVersions []string
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(nextEvent(read).data), &m); err != nil {
			t.Fatal(err)
		}
		e := m.Data.RegistryEvents
		got = append(got, fmt.Sprintf("%s %s %v", e.Version, e.Task.Label, e.Task.AvailableVersions))
	}
	want := []string{"1.0.0 Plus [1.0.0]", "2.0.0 Plus two [1.0.0 2.0.0]"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestWebSocketSinceNamesItsRun: over a WebSocket, since with another
// run's instance (a server restarted between the client's last event and
// its resume) gets RESYNC; with this run's, the replay.
func TestWebSocketSinceNamesItsRun(t *testing.T) {
	ts, dir := liveServer(t)
	gen := ts.reg.Snapshot().Generation
	ts.relabel(t, dir, "Replayed")
	other := registry.NewFeed(8, 8).Instance()
	const q = "subscription($since: Int, $instance: String) { registryEvents(since: $since, instance: $instance) { generation instance task { label } } }"
	w := dialWS(t, ts.URL).init()
	w.send(map[string]any{"type": "subscribe", "id": "old", "payload": map[string]any{"query": q, "variables": map[string]any{"since": gen, "instance": other}}})
	if m := w.expect("error"); !strings.Contains(string(m.Payload), `"code":"RESYNC"`) || !strings.Contains(string(m.Payload), "restarted") {
		t.Errorf("another run's since: got %s, want RESYNC saying the server restarted", m.Payload)
	}
	w.send(map[string]any{"type": "subscribe", "id": "own", "payload": map[string]any{"query": q, "variables": map[string]any{"since": gen, "instance": ts.feed.Instance()}}})
	want := fmt.Sprintf(`{"data":{"registryEvents":{"generation":%d,"instance":%q,"task":{"label":"Replayed"}}}}`, gen+1, ts.feed.Instance())
	if m := w.expect("next"); string(m.Payload) != want {
		t.Errorf("this run's since: got %s, want %s", m.Payload, want)
	}
}
