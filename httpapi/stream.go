package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// streamSink is where a streamed operation's output goes: the WebSocket
// and SSE transports each provide one.
type streamSink struct {
	readOnly bool   // a GET: mutations are refused
	open     func() // the operation is valid and, for a subscription, listening (may be nil)
	next     func(id string, result any)
	// errors: the operation failed before or instead of producing
	// results; status is the HTTP status it would have over plain HTTP.
	errors func(status int, errs []gqlerrors.FormattedError)
}

// stream runs one operation for a streaming transport: a query or mutation
// gives one result, a subscription one per event until ctx ends. Every
// execution is bounded by the executor's limits (cost, answer size,
// timeout), as over plain HTTP. It reports whether the operation
// completed (rather than failed).
func (h *graphqlHandler) stream(ctx context.Context, req schema.Request, resume *schema.Position, sink streamSink) bool {
	prepared, fail := h.exec.Prepare(req)
	if fail != nil {
		sink.errors(http.StatusBadRequest, fail.Errors)
		return false
	}
	if sink.readOnly && prepared.Operation() == "mutation" {
		sink.errors(http.StatusMethodNotAllowed, errorList("a mutation must be sent with POST"))
		return false
	}
	snap := h.reg.Snapshot()
	if prepared.Operation() != "subscription" {
		if fail := h.exec.Admit(snap, prepared, req); fail != nil {
			sink.errors(http.StatusBadRequest, fail.Errors)
			return false
		}
		sink.opened()
		res, err := h.exec.Execute(ctx, snap, prepared, req)
		if err != nil && ctx.Err() != nil {
			return false // the client went away
		}
		sink.next("", res)
		return true
	}
	if err := h.subscriptions.acquire(); err != nil {
		sink.errors(http.StatusServiceUnavailable, errorList(err.Error()))
		return false
	}
	defer h.subscriptions.release()
	st, fail := h.exec.Subscribe(ctx, h.feed, h.reg.Snapshot, prepared, req, resume)
	if fail != nil {
		sink.errors(http.StatusBadRequest, fail.Errors)
		return false
	}
	defer st.Close()
	sink.opened()
	for m := range st.Messages() {
		if m.ID == "" {
			sink.errors(http.StatusOK, m.Result.Errors) // resync or dropped for being slow
			return false
		}
		sink.next(m.ID, m.Result)
	}
	return ctx.Err() == nil
}

func (s streamSink) opened() {
	if s.open != nil {
		s.open()
	}
}

// headerHas reports whether a comma-separated header holds a token.
func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for item := range listItems(v) {
			if strings.EqualFold(item, token) {
				return true
			}
		}
	}
	return false
}
