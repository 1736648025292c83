package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// wantsSSE is the GraphQL over SSE protocol's distinct connections mode: a
// request that accepts text/event-stream.
func wantsSSE(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// serveSSE streams one operation as Server-Sent Events: an event "next"
// per result, flushed at once, then "complete". Comments keep idle
// connections open through proxies. Each event's id is its position in the
// change feed, so a reconnecting client (Last-Event-ID) resumes after it.
func (h *graphqlHandler) serveSSE(w http.ResponseWriter, r *http.Request) {
	if err := h.streams.acquire(); err != nil {
		writeJSON(w, mediaJSON, http.StatusServiceUnavailable, errorBody(err.Error()))
		return
	}
	defer h.streams.release()
	req, status, err := readRequest(r)
	if err != nil {
		writeJSON(w, mediaJSON, status, errorBody(err.Error()))
		return
	}
	// The request is read: the server's read timeout, meant for slow
	// bodies, must not end a stream that is meant to last.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	var resume *schema.Position
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		p, ok := schema.ParsePosition(id)
		if !ok {
			writeJSON(w, mediaJSON, http.StatusBadRequest, errorBody(fmt.Sprintf("Last-Event-ID %q is not an event id of this server", id)))
			return
		}
		resume = &p
	}
	flusher, _ := w.(http.Flusher)
	var mu sync.Mutex // the heartbeat and the events share the writer
	started := false
	write := func(chunk string) {
		mu.Lock()
		defer mu.Unlock()
		if !started {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		_, _ = w.Write([]byte(chunk))
		if flusher != nil {
			flusher.Flush()
		}
	}
	failed := false
	sink := streamSink{
		readOnly: r.Method == http.MethodGet,
		// Headers go out as soon as the operation listens: the client
		// knows the stream is open before the first event, which may be
		// a long way off.
		open: func() { write(":\n\n") },
		next: func(id string, res any) {
			var b bytes.Buffer
			if id != "" {
				fmt.Fprintf(&b, "id: %s\n", id)
			}
			data, _ := json.Marshal(res)
			fmt.Fprintf(&b, "event: next\ndata: %s\n\n", data)
			write(b.String())
		},
		errors: func(status int, errs []gqlerrors.FormattedError) {
			mu.Lock()
			before := started
			mu.Unlock()
			if !before {
				// Nothing streamed yet: answer as GraphQL over HTTP would.
				failed = true
				if status == http.StatusMethodNotAllowed {
					w.Header().Set("Allow", "POST")
				}
				writeJSON(w, mediaJSON, status, map[string]any{"errors": errs})
				return
			}
			data, _ := json.Marshal(map[string]any{"errors": errs})
			write(fmt.Sprintf("event: next\ndata: %s\n\n", data))
		},
	}
	stopBeat := make(chan struct{})
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		t := time.NewTicker(h.sseHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-stopBeat:
				return
			case <-t.C:
				mu.Lock()
				open := started
				mu.Unlock()
				if open {
					write(":\n\n")
				}
			}
		}
	}()
	h.stream(r.Context(), req, resume, sink)
	close(stopBeat)
	<-beatDone
	if !failed && r.Context().Err() == nil {
		write("event: complete\ndata:\n\n")
	}
}
