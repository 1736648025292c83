package schema

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Message is one result of a stream. ID names the event
// ("generation:seq:instance") so that a client can resume after it.
type Message struct {
	ID     string
	Result *graphql.Result
}

// Position is where a stream resumes: after this event, of the run of the
// server named by Instance.
type Position struct {
	Generation int64
	Seq        int
	Instance   string // "" for an id without one: not known to be of this run
}

// eventID is the id of an event as a client sees it, and sends back.
func eventID(e registry.Event, instance string) string {
	return fmt.Sprintf("%d:%d:%s", e.Generation, e.Seq, instance)
}

// ParsePosition reads a Message ID, as a client sends back in Last-Event-ID.
// The ids of earlier releases (generation:seq, or a generation) are read
// too, without an instance: a resume from one gets RESYNC, since nothing
// says which run of the server it came from.
func ParsePosition(s string) (Position, bool) {
	g, rest, found := strings.Cut(s, ":")
	gen, err := strconv.ParseInt(g, 10, 64)
	if err != nil || gen < 0 {
		return Position{}, false
	}
	if !found {
		return Position{Generation: gen, Seq: 1 << 30}, true
	}
	seq, instance, _ := strings.Cut(rest, ":")
	n, err := strconv.Atoi(seq)
	if err != nil || n < 0 {
		return Position{}, false
	}
	return Position{Generation: gen, Seq: n, Instance: instance}, true
}

// Stream is a running subscription. Its goroutine is owned: Close stops it
// and waits for it, so that no subscription outlives its client (unlike
// graphql-go's own Subscribe, whose producer goroutine leaks: issue 758).
type Stream struct {
	out    chan Message
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Messages is closed when the stream ends.
func (s *Stream) Messages() <-chan Message { return s.out }

// Close ends the stream and waits for its goroutine.
func (s *Stream) Close() {
	s.once.Do(s.cancel)
	<-s.done
}

// Subscribe starts a prepared subscription. Each event is resolved
// against the snapshot its change made (current gives one for an event
// that carries none); resume, when set, overrides the since
// argument (it comes from Last-Event-ID).
func (x *Executor) Subscribe(ctx context.Context, feed *registry.Feed, current func() *registry.Snapshot, p *Prepared, req Request, resume *Position) (*Stream, *Failure) {
	if feed == nil {
		return nil, failf(nil, "this server has no change feed")
	}
	sel := p.op.SelectionSet.Selections
	f, ok := sel[0].(*ast.Field)
	if len(sel) != 1 || !ok {
		return nil, failf([]ast.Node{p.op}, "a subscription selects exactly one field")
	}
	vars := withDefaults(p.op, req.Variables)
	since, fail := sinceArg(f, vars)
	if fail != nil {
		return nil, fail
	}
	instance, named := instanceArg(f, vars)
	skip := -1
	if resume != nil {
		since, skip = resume.Generation-1, resume.Seq
		if since < 0 {
			since, skip = 0, -1
		}
		instance, named = resume.Instance, true
	}
	if fail := x.checkCost(current(), p, req.Variables); fail != nil {
		return nil, fail
	}
	var sub *registry.Subscription
	var err error
	if named && since >= 0 {
		sub, err = feed.Resume(instance, since)
	} else {
		sub, err = feed.Subscribe(since)
	}
	if err != nil {
		return nil, &Failure{Errors: []gqlerrors.FormattedError{resyncError(err)}}
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{out: make(chan Message), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.out)
		defer sub.Close()
		for {
			e, err := sub.Next(ctx)
			switch {
			case errors.Is(err, registry.ErrSlow):
				s.send(ctx, Message{Result: &graphql.Result{Errors: []gqlerrors.FormattedError{resyncError(err)}}})
				return
			case err != nil:
				return
			}
			if resume != nil && e.Generation == resume.Generation && e.Seq <= skip {
				continue
			}
			snap := e.Snapshot
			if snap == nil {
				snap = current()
			}
			res, _ := x.execute(ctx, snap, p, req, e)
			if !s.send(ctx, Message{ID: eventID(e, feed.Instance()), Result: res}) {
				return
			}
		}
	}()
	return s, nil
}

func (s *Stream) send(ctx context.Context, m Message) bool {
	select {
	case s.out <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

// resyncError tells the client that replay is impossible or that it fell
// behind; extensions.code lets a client act on it.
func resyncError(err error) gqlerrors.FormattedError {
	code := "RESYNC"
	if errors.Is(err, registry.ErrSlow) {
		code = "SLOW_CONSUMER"
	}
	return gqlerrors.FormattedError{Message: err.Error(), Extensions: map[string]any{"code": code}}
}

// instanceArg reads instance from the field's arguments; named is false
// when it is not given.
func instanceArg(f *ast.Field, vars map[string]any) (instance string, named bool) {
	for _, a := range f.Arguments {
		if a.Name == nil || a.Name.Value != "instance" {
			continue
		}
		switch v := a.Value.(type) {
		case *ast.StringValue:
			return v.Value, true
		case *ast.Variable:
			s, ok := vars[v.Name.Value].(string)
			return s, ok
		}
	}
	return "", false
}

// sinceArg reads since from the field's arguments; -1 means from now.
func sinceArg(f *ast.Field, vars map[string]any) (int64, *Failure) {
	for _, a := range f.Arguments {
		if a.Name == nil || a.Name.Value != "since" {
			continue
		}
		switch v := a.Value.(type) {
		case *ast.IntValue:
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil || n < 0 {
				return 0, failf([]ast.Node{a}, "since must be a generation, 0 or more")
			}
			return n, nil
		case *ast.Variable:
			switch n := vars[v.Name.Value].(type) {
			case nil:
				return -1, nil
			case float64:
				if n >= 0 && n == float64(int64(n)) {
					return int64(n), nil
				}
			case int:
				if n >= 0 {
					return int64(n), nil
				}
			}
			return 0, failf([]ast.Node{a}, "since must be a generation, 0 or more")
		}
	}
	return -1, nil
}
