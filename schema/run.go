package schema

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// ErrTimeout stops a request that ran longer than Limits.Timeout.
var ErrTimeout = errors.New("timeout")

// AnswerTooLargeError stops a request whose answer grew past
// Limits.MaxAnswerBytes.
type AnswerTooLargeError struct{ Limit int64 }

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("the answer is over %d bytes (server.max_answer_bytes): select fewer fields or tasks, or use taskPage", e.Limit)
}

// run is the state of one execution that every resolver can reach: the
// request's own context, which graphql-go never sees, and the bytes of
// content the answer holds so far.
type run struct {
	ctx      context.Context
	stop     context.CancelCauseFunc
	maxBytes int64
	bytes    atomic.Int64
}

type runKey struct{}

func runOf(ctx context.Context) *run {
	if ctx == nil {
		return nil // graphql.Do without a context, as in tests
	}
	r, _ := ctx.Value(runKey{}).(*run)
	return r
}

// stopped is the reason the request's resolvers must stop, or nil.
func (r *run) stopped() error {
	if r == nil || r.ctx.Err() == nil {
		return nil
	}
	return context.Cause(r.ctx)
}

// charge counts n bytes of content toward the answer, and stops the whole
// request once the answer would pass its limit: the rest of the resolvers
// then return at once instead of filling memory.
func (r *run) charge(n int) error {
	if r == nil || r.maxBytes <= 0 {
		return nil
	}
	if r.bytes.Add(int64(n)) > r.maxBytes {
		err := &AnswerTooLargeError{Limit: r.maxBytes}
		r.stop(err)
		return err
	}
	return nil
}

// execute runs graphql-go's executor so that no resolver runs on after it
// returns. graphql-go's Execute returns as soon as its context ends but
// leaves its resolver goroutine running (it may run for many seconds more);
// so it gets a context that never ends, and every resolver watches the
// request's own context through run and returns at once when it ends.
// Execute then returns only once the executor has finished, which after a
// stop is quick. The error says why the run was stopped, if it was.
func (x *Executor) execute(ctx context.Context, snap *registry.Snapshot, p *Prepared, req Request, root any) (*graphql.Result, error) {
	if x.Limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, x.Limits.Timeout,
			fmt.Errorf("request took longer than %s (server.timeout) and was stopped: %w", x.Limits.Timeout, ErrTimeout))
		defer cancel()
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r := &run{ctx: ctx, stop: stop, maxBytes: x.Limits.MaxAnswerBytes}
	inner := context.WithValue(WithSnapshot(context.WithoutCancel(ctx), snap), runKey{}, r)
	res := graphql.Execute(graphql.ExecuteParams{
		Schema: x.Schema, AST: p.doc, OperationName: req.OperationName, Args: req.Variables,
		Root: root, Context: inner,
	})
	if err := r.stopped(); err != nil {
		return &graphql.Result{Errors: []gqlerrors.FormattedError{{Message: err.Error()}}}, err
	}
	return res, nil
}
