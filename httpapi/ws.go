package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// The graphql-transport-ws protocol (the one the graphql-ws library
// speaks), with its close codes.
const (
	wsProtocol = "graphql-transport-ws"

	closeInvalidMessage    websocket.StatusCode = 4400
	closeUnauthorized      websocket.StatusCode = 4401
	closeBadSubprotocol    websocket.StatusCode = 4406
	closeInitTimeout       websocket.StatusCode = 4408
	closeSubscriberExists  websocket.StatusCode = 4409
	closeTooManyInitialise websocket.StatusCode = 4429
)

// wsSub is one running subscription. Entries are compared by identity: a
// client may complete an id and reuse it at once, and the old forwarder,
// ending later, must not take the new subscription's entry with it.
type wsSub struct{ stop context.CancelFunc }

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsSession is one socket: its subscriptions, and the goroutines that
// forward them, all stopped and waited for when the socket ends.
type wsSession struct {
	h      *graphqlHandler
	c      *websocket.Conn
	mu     sync.Mutex
	active map[string]*wsSub
	acked  bool
	inited bool
	wg     sync.WaitGroup
}

func wantsWebSocket(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func (h *graphqlHandler) serveWS(w http.ResponseWriter, r *http.Request) {
	// Counted from the start: once hijacked, the handler is out of
	// http.Server's sight, and Wait must cover all of it.
	h.sessions.Add(1)
	defer h.sessions.Done()
	if err := h.streams.acquire(); err != nil {
		writeJSON(w, mediaJSON, http.StatusServiceUnavailable, errorBody(err.Error()))
		return
	}
	defer h.streams.release()
	// The socket lasts: the server's read timeout, meant for slow request
	// bodies, must not end it.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	// The library accepts an Origin equal to Host, and the Host has passed
	// hostPolicy, so a rebinding page (whose Origin and Host are both its
	// own name) never gets here; other origins only when CORS lists them.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wsProtocol}, OriginPatterns: h.originPatterns})
	if err != nil {
		return // Accept has answered already
	}
	if c.Subprotocol() != wsProtocol {
		c.Close(closeBadSubprotocol, "Subprotocol not acceptable")
		return
	}
	c.SetReadLimit(maxBodyBytes)
	s := &wsSession{h: h, c: c, active: map[string]*wsSub{}}
	s.run(r.Context())
}

func (s *wsSession) run(parent context.Context) {
	// Reads use their own context: a cancelled read makes the library drop
	// the connection at once, and a server shutting down should say so
	// with a close frame first.
	readCtx, stopRead := context.WithCancel(context.Background())
	defer stopRead()
	ctx, cancel := context.WithCancel(parent)
	closing := make(chan struct{})
	stopGoingAway := context.AfterFunc(parent, func() {
		defer close(closing)
		s.c.Close(websocket.StatusGoingAway, "server shutting down")
	})
	initDone := make(chan struct{})
	initTimer := time.AfterFunc(s.h.wsInitTimeout, func() {
		defer close(initDone)
		s.mu.Lock()
		acked := s.acked
		s.mu.Unlock()
		if !acked {
			s.c.Close(closeInitTimeout, "Connection initialisation timeout")
		}
	})
	defer func() {
		if !initTimer.Stop() {
			<-initDone
		}
		cancel()
		s.wg.Wait() // every forwarder stops before the socket is gone
		if !stopGoingAway() {
			<-closing // the going-away handshake is under way: let it finish
		}
		s.c.CloseNow()
	}()
	for {
		_, data, err := s.c.Read(readCtx)
		if err != nil {
			return
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
			s.c.Close(closeInvalidMessage, "Invalid message received")
			return
		}
		if !s.handle(ctx, m) {
			return
		}
	}
}

// handle acts on one client message; false ends the socket.
func (s *wsSession) handle(ctx context.Context, m wsMessage) bool {
	switch m.Type {
	case "connection_init":
		s.mu.Lock()
		again := s.inited
		s.inited, s.acked = true, true
		s.mu.Unlock()
		if again {
			s.c.Close(closeTooManyInitialise, "Too many initialisation requests")
			return false
		}
		s.send(ctx, wsMessage{Type: "connection_ack"})
	case "ping":
		s.send(ctx, wsMessage{Type: "pong", Payload: m.Payload})
	case "pong":
	case "subscribe":
		return s.subscribe(ctx, m)
	case "complete":
		s.mu.Lock()
		if sub, ok := s.active[m.ID]; ok {
			sub.stop()
			delete(s.active, m.ID)
		}
		s.mu.Unlock()
	default:
		s.c.Close(closeInvalidMessage, fmt.Sprintf("Invalid message type %q", m.Type))
		return false
	}
	return true
}

func (s *wsSession) subscribe(ctx context.Context, m wsMessage) bool {
	s.mu.Lock()
	acked := s.acked
	_, exists := s.active[m.ID]
	n := len(s.active)
	s.mu.Unlock()
	switch {
	case !acked:
		s.c.Close(closeUnauthorized, "Unauthorized")
		return false
	case m.ID == "":
		s.c.Close(closeInvalidMessage, "Invalid message received: subscribe without id")
		return false
	case exists:
		s.c.Close(closeSubscriberExists, fmt.Sprintf("Subscriber for %s already exists", m.ID))
		return false
	case n >= s.h.maxSubscriptions:
		s.sendErrors(ctx, m.ID, errorList(fmt.Sprintf("at most %d subscriptions per socket", s.h.maxSubscriptions)))
		return true
	}
	var req schema.Request
	if err := json.Unmarshal(m.Payload, &req); err != nil || req.Query == "" {
		s.c.Close(closeInvalidMessage, "Invalid message received: subscribe payload needs a query")
		return false
	}
	subCtx, stop := context.WithCancel(ctx)
	sub := &wsSub{stop: stop}
	s.mu.Lock()
	s.active[m.ID] = sub
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer stop()
		var failure []gqlerrors.FormattedError
		// Messages are written under the session's context, not the
		// subscription's: the library closes the whole socket when a
		// write's context ends, even just after the write, and a client
		// may complete a subscription as soon as it has read a message.
		completed := s.h.stream(subCtx, req, nil, streamSink{
			next:   func(_ string, res any) { s.send(ctx, wsMessage{ID: m.ID, Type: "next", Payload: mustMarshal(res)}) },
			errors: func(_ int, errs []gqlerrors.FormattedError) { failure = errs },
		})
		// The id is free again before the client hears that it ended: it
		// may reuse it at once.
		s.mu.Lock()
		still := s.active[m.ID] == sub
		if still {
			delete(s.active, m.ID)
		}
		s.mu.Unlock()
		switch {
		case !still: // the client completed it (and may have reused its id since)
		case failure != nil:
			s.sendErrors(ctx, m.ID, failure)
		case completed:
			s.send(ctx, wsMessage{ID: m.ID, Type: "complete"})
		}
	}()
	return true
}

func (s *wsSession) send(ctx context.Context, m wsMessage) {
	_ = s.c.Write(ctx, websocket.MessageText, mustMarshal(m))
}

func (s *wsSession) sendErrors(ctx context.Context, id string, errs []gqlerrors.FormattedError) {
	s.send(ctx, wsMessage{ID: id, Type: "error", Payload: mustMarshal(errs)})
}

func errorList(msg string) []gqlerrors.FormattedError {
	return []gqlerrors.FormattedError{{Message: msg}}
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorBody("encode: " + err.Error()))
	}
	return b
}
