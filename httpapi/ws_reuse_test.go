package httpapi

import (
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestWebSocketReuseCompletedID completes a subscription and reuses its id
// at once, 200 times over one real socket. The old subscription's
// forwarder ends after the new one has started: it must not take the new
// one's entry with it, or the new one can never be completed and the
// socket's count of subscriptions goes wrong.
func TestWebSocketReuseCompletedID(t *testing.T) {
	ts, dir := liveServer(t)
	gen := ts.reg.Snapshot().Generation
	ts.relabel(t, dir, "Replayed")
	w := dialWS(t, ts.URL).init()
	subscribe := func() {
		t.Helper()
		// since replays one event at once: its arrival shows that the
		// subscription is running.
		w.send(map[string]any{"type": "subscribe", "id": "x", "payload": map[string]any{"query": eventsQuery, "variables": map[string]any{"since": gen}}})
		if m := w.expect("next"); m.ID != "x" || !strings.Contains(string(m.Payload), `"label":"Replayed"`) {
			t.Fatalf("got %s %s, want the replayed event", m.ID, m.Payload)
		}
	}
	for range 200 {
		subscribe()
		w.send(map[string]any{"type": "complete", "id": "x"})
		subscribe()
		w.send(map[string]any{"type": "complete", "id": "x"})
	}
	// Every subscription was completed by the client, with the socket
	// still open: none may be left running.
	waitSubscribers(t, ts, 0)
	// The socket's count is right: it takes its full 3 again.
	for _, id := range []string{"a", "b", "c"} {
		w.send(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{"query": eventsQuery}})
	}
	waitSubscribers(t, ts, 3)
	w.send(map[string]any{"type": "subscribe", "id": "d", "payload": map[string]any{"query": eventsQuery}})
	if m := w.expect("error"); m.ID != "d" || !strings.Contains(string(m.Payload), "at most 3") {
		t.Errorf("got %s %s, want the fourth refused", m.ID, m.Payload)
	}
	w.c.Close(websocket.StatusNormalClosure, "")
	waitSubscribers(t, ts, 0)
}
