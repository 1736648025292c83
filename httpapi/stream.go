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
	errors   func([]gqlerrors.FormattedError) // the operation failed before or instead of producing results
}

// stream runs one operation for a streaming transport: a query or mutation
// gives one result, a subscription one per event until ctx ends. It
// reports whether the operation completed (rather than failed).
func (h *graphqlHandler) stream(ctx context.Context, req schema.Request, resume *schema.Position, sink streamSink) bool {
	prepared, fail := h.exec.Prepare(req)
	if fail != nil {
		sink.errors(fail.Errors)
		return false
	}
	if sink.readOnly && prepared.Operation() == "mutation" {
		sink.errors(errorList("a mutation must be sent with POST"))
		return false
	}
	if prepared.Operation() != "subscription" {
		sink.opened()
		res := h.exec.Execute(ctx, h.reg.Snapshot(), prepared, req)
		sink.next("", res)
		return true
	}
	st, fail := h.exec.Subscribe(ctx, h.feed, h.reg.Snapshot, prepared, req, resume)
	if fail != nil {
		sink.errors(fail.Errors)
		return false
	}
	defer st.Close()
	sink.opened()
	for m := range st.Messages() {
		if m.ID == "" {
			sink.errors(m.Result.Errors) // resync or dropped for being slow
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
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
