// Package lsp is the language server for task folders: `ratchet-registry
// lsp` speaks the Language Server Protocol over standard input and output.
// Every task under the editor's workspace folders is loaded as a
// filesystem source loads it, with the editor's unsaved texts laid over
// the disk; its problems, and the verdicts of its tests run in the
// sandbox, are published as diagnostics where the author is typing.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/runner"
	"github.com/ratchet-tasks/ratchet-registry/watcher"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// Config says how the server runs.
type Config struct {
	// Debounce is the quiet time after a change to an open document before
	// its task is loaded again.
	Debounce time.Duration
	// Run runs one test case in the sandbox: the runner pool's Run. The
	// server never runs a task's code itself.
	Run func(ctx context.Context, c runner.Case) registry.CaseResult
	// Workers is how many cases run at once, the pool's size.
	Workers int
	// Watch says how files changed outside the editor are followed.
	Watch watcher.Config
	Log   *slog.Logger
	// Loader reads the tasks (nil: one of the session's own).
	Loader *taskformat.Loader
	// Version is what the server calls itself in initialize's answer.
	Version string
	// Limits on what the client sends; 0 takes the default.
	MaxMessage   int64 // bytes of one message
	MaxOpen      int   // documents open at once
	MaxOpenBytes int64 // bytes of every open document together
	MaxFolders   int   // workspace folders
}

// The defaults of the limits.
const (
	DefaultDebounce     = 100 * time.Millisecond
	DefaultMaxMessage   = 4*taskformat.MaxFileSize + 1<<20 // a document at the file limit, escaped, with room
	DefaultMaxOpen      = 1000
	DefaultMaxOpenBytes = 256 << 20
	DefaultMaxFolders   = 64
)

func (c Config) withDefaults() Config {
	if c.Loader == nil {
		c.Loader = taskformat.NewLoader()
	}
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.MaxOpen <= 0 {
		c.MaxOpen = DefaultMaxOpen
	}
	if c.MaxOpenBytes <= 0 {
		c.MaxOpenBytes = DefaultMaxOpenBytes
	}
	if c.MaxFolders <= 0 {
		c.MaxFolders = DefaultMaxFolders
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// server is one session with one client. Everything below the channels is
// owned by the goroutine that runs loop: handlers, loads and publishing
// never race, and a request sees every notification sent before it.
type server struct {
	cfg     Config
	conn    *conn
	log     *slog.Logger
	content *taskformat.Content
	loader  *taskformat.Loader
	handler protocol.Handler
	schemas schemas

	ctx context.Context
	wg  sync.WaitGroup // test runs, watchers

	events   chan event
	verdicts chan verdictDone
	slots    chan struct{} // a token for each worker: a case holds one while it runs

	ws          *workspace
	loaded      bool // the workspace's first load is done
	exited      bool
	shutdown    bool
	refreshLens bool // the client can be asked to refresh code lenses
	nextID      int64
	timer       *time.Timer
	due         bool // the timer is set
}

// event is a message from the client, or a batch of changes on disk.
type event struct {
	body    []byte
	err     error
	folder  *folder
	batch   *watcher.Batch
	settled bool // the folder's watcher follows every change now
}

// Serve runs a session over r and w until the client sends exit, r ends
// or ctx ends. It returns nil when the session ended as the protocol
// says (shutdown, then exit), and once every goroutine it started has
// stopped; it closes r, so that a read blocked on it ends.
func Serve(ctx context.Context, r io.ReadCloser, w io.Writer, cfg Config) error {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	s := &server{cfg: cfg, conn: newConn(r, w, cfg.MaxMessage), log: cfg.Log, content: taskformat.NewContent(64 << 20), loader: cfg.Loader,
		ctx: ctx, events: make(chan event), verdicts: make(chan verdictDone), slots: make(chan struct{}, cfg.Workers)}
	s.ws = newWorkspace(s)
	var err error
	if s.schemas, err = loadSchemas(); err != nil {
		cancel()
		return err
	}
	s.handler = s.protocolHandler()
	var reader sync.WaitGroup
	reader.Go(func() { s.read(ctx) })
	err = s.loop()
	cancel()
	r.Close()
	s.wg.Wait()
	reader.Wait()
	if s.timer != nil {
		s.timer.Stop()
	}
	return err
}

// read hands each message to the loop until the input ends.
func (s *server) read(ctx context.Context) {
	for {
		body, err := s.conn.read()
		var tl *errTooLarge
		if err != nil && !errors.As(err, &tl) {
			select {
			case s.events <- event{err: err}:
			case <-ctx.Done():
			}
			return
		}
		select {
		case s.events <- event{body: body, err: err}:
		case <-ctx.Done():
			return
		}
	}
}

// loop handles events until the session ends.
func (s *server) loop() error {
	var tick <-chan time.Time
	for {
		if s.timer != nil && s.due {
			tick = s.timer.C
		} else {
			tick = nil
		}
		select {
		case ev := <-s.events:
			switch {
			case ev.settled:
				s.safely("settle", func() { s.ws.settle(ev.folder) })
			case ev.batch != nil:
				s.safely("disk change", func() { s.ws.diskChanged(ev.folder, *ev.batch) })
				s.schedule(0)
			case ev.err != nil:
				var tl *errTooLarge
				if errors.As(ev.err, &tl) {
					s.log.Warn("message refused", "error", ev.err)
					s.showMessage(protocol.MessageTypeError, "ratchet-registry: "+ev.err.Error())
					continue
				}
				if errors.Is(ev.err, io.EOF) || errors.Is(ev.err, io.ErrClosedPipe) {
					return nil
				}
				return ev.err
			default:
				s.handle(ev.body)
				if s.exited {
					if !s.shutdown {
						return errors.New("exit before shutdown")
					}
					return nil
				}
			}
		case v := <-s.verdicts:
			s.safely("verdict", func() { s.ws.verdictDone(v) })
		case <-tick:
			s.due = false
			s.safely("load", s.ws.flush)
		case <-s.ctx.Done():
			return nil
		}
	}
}

// schedule has the pending changes loaded after d; a later call with a
// longer d puts the load off, as typing does.
func (s *server) schedule(d time.Duration) {
	if s.timer == nil {
		s.timer = time.NewTimer(d)
		s.due = true
		return
	}
	s.timer.Reset(d) // since Go 1.23 a Reset timer never delivers the time it had before
	s.due = true
}

// handle answers one message from the client.
func (s *server) handle(body []byte) {
	var msg incoming
	if err := json.Unmarshal(body, &msg); err != nil {
		s.respond(json.RawMessage("null"), nil, &rpcError{Code: codeParseError, Message: "not a JSON-RPC message: " + truncate(err.Error(), 200)})
		return
	}
	if msg.Method == "" {
		return // a response to a request of ours: nothing waits for it
	}
	isRequest := len(msg.ID) > 0 && string(msg.ID) != "null"
	if msg.Method == "exit" {
		s.exited = true
		return
	}
	if !s.handler.IsInitialized() && msg.Method != protocol.MethodInitialize {
		if isRequest {
			s.respond(msg.ID, nil, &rpcError{Code: codeNotInitialized, Message: "server not initialized"})
		}
		return
	}
	if msg.Method == protocol.MethodInitialize && s.loaded {
		// The folders are read and watched once: a second initialize
		// would add folders that are neither.
		if isRequest {
			s.respond(msg.ID, nil, &rpcError{Code: codeInvalidRequest, Message: "initialize was sent already: the workspace folders are fixed for the session"})
		}
		return
	}
	if s.shutdown && isRequest {
		s.respond(msg.ID, nil, &rpcError{Code: codeInvalidRequest, Message: "server is shutting down"})
		return
	}
	if len(msg.Params) == 0 {
		msg.Params = json.RawMessage("null")
	}
	ctx := &glsp.Context{Method: msg.Method, Params: msg.Params, Notify: s.notify}
	result, validMethod, validParams, err := s.handleSafely(ctx)
	if !isRequest {
		if err != nil && validMethod {
			s.log.Debug("notification failed", "method", msg.Method, "error", err)
		}
		return
	}
	switch {
	case !validMethod:
		s.respond(msg.ID, nil, &rpcError{Code: codeMethodNotFound, Message: "method not supported: " + truncate(msg.Method, 100)})
	case !validParams:
		m := "invalid params"
		if err != nil {
			m += ": " + truncate(err.Error(), 200)
		}
		s.respond(msg.ID, nil, &rpcError{Code: codeInvalidParams, Message: m})
	case err != nil:
		s.respond(msg.ID, nil, &rpcError{Code: codeRequestFailed, Message: err.Error()})
	default:
		s.respond(msg.ID, result, nil)
	}
	if msg.Method == protocol.MethodInitialize && err == nil && !s.loaded {
		s.loaded = true
		s.ws.load()
	}
}

// safely runs one step of the loop; a panic in it is logged and the
// session goes on, with the step's work lost, rather than the editor's
// server gone.
func (s *server) safely(what string, step func()) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("internal error", "in", what, "panic", p)
		}
	}()
	step()
}

// handleSafely is the library's dispatch, with a panic in a handler turned
// into an error: one bad request must not end the editor's session.
func (s *server) handleSafely(ctx *glsp.Context) (result any, validMethod, validParams bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panicked", "method", ctx.Method, "panic", p)
			result, validMethod, validParams, err = nil, true, true, fmt.Errorf("internal error in %s", ctx.Method)
		}
	}()
	return s.handler.Handle(ctx)
}

func (s *server) respond(id json.RawMessage, result any, rerr *rpcError) {
	if err := s.conn.write(response{JSONRPC: "2.0", ID: id, Result: result, Error: rerr}); err != nil {
		s.log.Debug("write failed", "error", err)
	}
}

func (s *server) notify(method string, params any) {
	if err := s.conn.write(outgoing{JSONRPC: "2.0", Method: method, Params: params}); err != nil {
		s.log.Debug("write failed", "error", err)
	}
}

// request sends a request whose answer nobody waits for.
func (s *server) request(method string, params any) {
	s.nextID++
	id := s.nextID
	if err := s.conn.write(outgoing{JSONRPC: "2.0", ID: &id, Method: method, Params: params}); err != nil {
		s.log.Debug("write failed", "error", err)
	}
}

func (s *server) showMessage(kind protocol.MessageType, msg string) {
	s.notify(protocol.ServerWindowShowMessage, protocol.ShowMessageParams{Type: kind, Message: msg})
}
