package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	for item := range listItems(r.Header.Get("Accept")) {
		if mt, refused := splitItem(item); !refused && strings.EqualFold(mt, "text/event-stream") {
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
	out := &sseWriter{w: w}
	write := out.write
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
			if !out.isOpen() {
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
		out.heartbeat(h.sseHeartbeat, stopBeat)
	}()
	h.stream(r.Context(), req, resume, sink)
	close(stopBeat)
	<-beatDone
	if !failed && r.Context().Err() == nil {
		write("event: complete\ndata:\n\n")
	}
}

// sseWriter is one event stream's writer, shared by the events and the
// heartbeat: the headers go out with the first chunk, every chunk is
// flushed at once.
type sseWriter struct {
	w       http.ResponseWriter
	mu      sync.Mutex
	started bool
}

func (s *sseWriter) write(chunk string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	_, _ = s.w.Write([]byte(chunk))
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

// isOpen says whether the stream's headers have gone out.
func (s *sseWriter) isOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// heartbeat writes a comment every interval while the stream is open, so
// that proxies and clients see it alive, until stop closes.
func (s *sseWriter) heartbeat(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if s.isOpen() {
				s.write(":\n\n")
			}
		}
	}
}
