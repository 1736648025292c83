package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// The media types of GraphQL over HTTP.
const (
	mediaJSON     = "application/json"
	mediaResponse = "application/graphql-response+json"
	maxBodyBytes  = 1 << 20
)

type graphqlHandler struct {
	reg       *registry.Registry
	feed      *registry.Feed
	exec      *schema.Executor
	log       *slog.Logger
	cache     *answerCache
	lists     *schema.ListCache
	codings   *codings
	persisted *persistedQueries

	wsInitTimeout    time.Duration
	maxSubscriptions int // per WebSocket
	sseHeartbeat     time.Duration
	sessions         sync.WaitGroup // open WebSockets
	originPatterns   []string       // WebSocket origins allowed besides the Host's own
	streams          *gauge         // open SSE and WebSocket streams
	subscriptions    *gauge         // subscriptions over all of them
}

// response is how one request will be answered: the media type the client
// accepts, and whether it wants the status codes of the current spec
// (application/graphql-response+json, or no preference) or the legacy
// 200-for-everything of application/json.
type response struct {
	media  string
	legacy bool
}

// negotiate reads Accept. ok is false when the client accepts neither
// GraphQL media type.
func negotiate(accept string) (response, bool) {
	if strings.TrimSpace(accept) == "" {
		return response{media: mediaJSON}, true
	}
	var sawJSON, sawAny bool
	for item := range listItems(accept) {
		mt, refused := splitItem(item)
		switch {
		case refused:
		case strings.EqualFold(mt, mediaResponse):
			return response{media: mediaResponse}, true
		case strings.EqualFold(mt, mediaJSON):
			sawJSON = true
		case mt == "*/*", strings.EqualFold(mt, "application/*"):
			sawAny = true
		}
	}
	switch {
	case sawJSON:
		return response{media: mediaJSON, legacy: true}, true
	case sawAny:
		return response{media: mediaJSON}, true
	}
	return response{}, false
}

func (h *graphqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case wantsWebSocket(r):
		h.serveWS(w, r)
		return
	case wantsSSE(r):
		h.serveSSE(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeJSON(w, mediaJSON, http.StatusMethodNotAllowed, errorBody("use GET or POST"))
		return
	}
	resp, ok := negotiate(r.Header.Get("Accept"))
	if !ok {
		writeJSON(w, mediaJSON, http.StatusNotAcceptable, errorBody(fmt.Sprintf("accept application/graphql-response+json or application/json (among the first %d media ranges of Accept)", maxListItems)))
		return
	}
	req, status, err := readRequest(r)
	if err != nil {
		writeJSON(w, resp.media, status, errorBody(err.Error()))
		return
	}
	if fail := h.persisted.resolve(&req, h.exec.Limits.MaxQueryBytes); fail != nil {
		// A miss is no failure of the request: Apollo's clients look for
		// it in a 200 answer and send the query's text at once.
		status := http.StatusBadRequest
		if fail.notFound || resp.legacy {
			status = http.StatusOK
		}
		body := map[string]any{"errors": []map[string]any{{"message": fail.msg}}}
		if fail.notFound {
			body["errors"] = []map[string]any{{"message": fail.msg, "extensions": map[string]any{"code": persistedQueryNotFoundCode}}}
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, resp.media, status, body)
		return
	}
	snap := h.reg.Snapshot() // the one snapshot this request is answered from
	live := h.live(req.Query)
	vars, _ := json.Marshal(req.Variables) // map keys are sorted: stable
	key := requestKey(req, vars, live+h.instanceShown(req.Query))
	shown := shownKey(snap, req.Query, vars)
	ckey := shown + key
	coding := pickCoding(r.Header.Get("Accept-Encoding"))
	w.Header().Set("Vary", "Accept, Accept-Encoding")
	readOnly := r.Method != http.MethodPost
	if readOnly {
		etag := answerETag(shown, key)
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "no-cache")
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if body, plain := h.cache.get(ckey, coding); body != nil || plain != nil {
		h.cache.hits.Inc()
		if body == nil {
			h.send(w, resp.media, coding, ckey, plain, true)
			return
		}
		writeEncoded(w, resp.media, coding, body)
		return
	}
	h.cache.misses.Inc()
	h.answer(w, r, resp, snap, req, answerKeys{cache: ckey, coding: coding}, live, readOnly)
}

// answerKeys is where an answer goes in the cache, and the content coding
// it is sent in.
type answerKeys struct{ cache, coding string }

// send writes an answer in coding, compressing it as it goes, and keeps
// the compressed form when keep is set. Small answers go as they are.
func (h *graphqlHandler) send(w http.ResponseWriter, media, coding, ckey string, plain []schema.Part, keep bool) {
	if coding == "" || size(plain) < minCompressBytes {
		writeEncoded(w, media, "", plain)
		return
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Encoding", coding)
	w.WriteHeader(http.StatusOK)
	body, err := h.codings.compress(w, coding, plain)
	if err == nil && keep {
		h.cache.put(ckey, coding, body)
	}
}

// answer prepares, admits and runs a request that no cache could answer,
// then writes the result or the reason it has none.
func (h *graphqlHandler) answer(w http.ResponseWriter, r *http.Request, resp response, snap *registry.Snapshot, req schema.Request, keys answerKeys, live string, readOnly bool) {
	// requestFailed answers a request that never ran: 400, or 200 for the
	// legacy media type, as GraphQL over HTTP asks.
	requestFailed := func(errs any) {
		code := http.StatusBadRequest
		if resp.legacy {
			code = http.StatusOK
		}
		writeJSON(w, resp.media, code, map[string]any{"errors": errs})
	}
	prepared, fail := h.lists.Prepare(h.exec, req)
	if fail != nil {
		requestFailed(fail.Errors)
		return
	}
	switch op := prepared.Operation(); {
	case op == "subscription":
		writeJSON(w, resp.media, http.StatusBadRequest, errorBody("subscriptions need a WebSocket (graphql-transport-ws) or Accept: text/event-stream"))
		return
	case op != "query" && readOnly:
		w.Header().Del("ETag")
		w.Header().Set("Allow", "POST")
		writeJSON(w, resp.media, http.StatusMethodNotAllowed, errorBody(fmt.Sprintf("a %s must be sent with POST", op)))
		return
	}
	if fail := h.exec.Admit(snap, prepared, req); fail != nil {
		requestFailed(fail.Errors)
		return
	}
	body, clean, ok := h.run(w, r, resp, snap, prepared, req, requestFailed)
	if !ok {
		return
	}
	keep := false
	switch {
	case h.live(req.Query) != live:
		// What the answer shows besides the snapshot moved while it ran:
		// it may show either state, so it is named by neither.
		w.Header().Del("ETag")
	case prepared.Operation() == "query" && clean:
		h.cache.put(keys.cache, "", body)
		keep = true
	}
	h.send(w, resp.media, keys.coding, keys.cache, body, keep)
}

// run answers a prepared request: Render for the lists dashboards poll,
// which keeps their items from one save to the next, else graphql-go's
// executor. clean says that the answer has no errors (only such answers
// are kept); ok is false when run has answered the request itself, with
// the reason it has no answer.
func (h *graphqlHandler) run(w http.ResponseWriter, r *http.Request, resp response, snap *registry.Snapshot,
	prepared *schema.Prepared, req schema.Request, requestFailed func(any)) (body []schema.Part, clean, ok bool) {
	var tooLarge *schema.AnswerTooLargeError
	if rendered, ok, err := h.exec.Render(r.Context(), snap, prepared, req, h.lists); ok {
		switch {
		case errors.As(err, &tooLarge):
			requestFailed(errorList(err.Error()))
			return nil, false, false
		case err != nil:
			return nil, false, false // the client went away
		}
		return rendered, true, true
	}
	result, err := h.exec.Execute(r.Context(), snap, prepared, req)
	switch {
	case errors.Is(err, schema.ErrTimeout):
		writeJSON(w, resp.media, http.StatusGatewayTimeout, map[string]any{"errors": result.Errors})
		return nil, false, false
	case errors.As(err, &tooLarge):
		requestFailed(result.Errors)
		return nil, false, false
	case err != nil:
		return nil, false, false // the client went away
	}
	if result.Data == nil && len(result.Errors) > 0 {
		// graphql-go leaves data nil only when execution never began, as on
		// variables that do not coerce: a request error, with no data entry.
		requestFailed(result.Errors)
		return nil, false, false
	}
	plain, err := json.Marshal(result)
	if err != nil {
		writeJSON(w, resp.media, http.StatusInternalServerError, errorBody("encode answer: "+err.Error()))
		return nil, false, false
	}
	if limit := h.exec.Limits.MaxAnswerBytes; limit > 0 && int64(len(plain)) > limit {
		requestFailed(errorList((&schema.AnswerTooLargeError{Limit: limit}).Error()))
		return nil, false, false
	}
	return []schema.Part{{Bytes: plain}}, len(result.Errors) == 0, true
}

// instanceShown is the run of the server, for a query that can show it:
// its answers differ between runs over the same catalogue, so their ETag
// must too, or a client would keep the instance of a run gone by (and
// resume from it) on a 304.
func (h *graphqlHandler) instanceShown(query string) string {
	if h.feed == nil || !schema.ShowsInstance(query) {
		return ""
	}
	return "\x00instance\x00" + h.feed.Instance()
}

// readRequest decodes GET parameters or a POST body. The status is the one
// to answer with when err is not nil.
func readRequest(r *http.Request) (schema.Request, int, error) {
	var req schema.Request
	if r.Method != http.MethodPost {
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		for _, p := range []struct {
			name string
			dst  *map[string]any
		}{{"variables", &req.Variables}, {"extensions", &req.Extensions}} {
			if v := q.Get(p.name); v != "" {
				if err := json.Unmarshal([]byte(v), p.dst); err != nil {
					return req, http.StatusBadRequest, fmt.Errorf("%q must be a JSON object: %v", p.name, err)
				}
			}
		}
		if !q.Has("query") && req.Extensions["persistedQuery"] == nil {
			return req, http.StatusBadRequest, errors.New(`missing "query" parameter`)
		}
		return req, 0, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != mediaJSON {
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("send the request as %s, not %q", mediaJSON, ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("charset %q is not supported: send utf-8", cs)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		return req, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes", maxBodyBytes)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return req, http.StatusBadRequest, fmt.Errorf("request body is not a JSON object: %v", err)
	}
	fields := []struct {
		name     string
		dst      any
		required bool
	}{
		{"query", &req.Query, false}, // checked below: a persisted query comes without
		{"operationName", &req.OperationName, false},
		{"variables", &req.Variables, false},
		{"extensions", &req.Extensions, false},
	}
	for _, f := range fields {
		v, ok := raw[f.name]
		if !ok || bytes.Equal(v, []byte("null")) {
			if f.required {
				return req, http.StatusBadRequest, fmt.Errorf("missing %q", f.name)
			}
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return req, http.StatusBadRequest, fmt.Errorf("%q has the wrong type: %s", f.name, v)
		}
	}
	if q, ok := raw["query"]; (!ok || bytes.Equal(q, []byte("null"))) && req.Extensions["persistedQuery"] == nil {
		return req, http.StatusBadRequest, fmt.Errorf("missing %q", "query")
	}
	return req, 0, nil
}

// requestKey names a request: with what the snapshot shows of it (see
// shownKey) it names the answer, for ETags (a poll of an unchanged catalogue costs a 304) and for
// the answer cache. live is the state outside the snapshot that answers
// show (see graphqlHandler.live).
func requestKey(req schema.Request, vars []byte, live string) string {
	sum := sha256.New()
	for _, part := range [][]byte{[]byte(req.Query), []byte(req.OperationName), vars, []byte(live)} {
		sum.Write(part)
		sum.Write([]byte{0})
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// live names the state that an answer to query shows besides the
// snapshot: how each source is watched, which changes as a watcher sets
// up or falls back, with no new generation. It is part of the answer's
// cache key and ETag, and "" for a query that cannot show it, so that its
// answers stay cached while the state moves.
func (h *graphqlHandler) live(query string) string {
	if !schema.ShowsWatch(query) {
		return ""
	}
	var b strings.Builder
	for _, st := range h.reg.Snapshot().Sources() {
		if w, ok := st.Watch(); ok {
			// As answers show it: a round's length moves a little at
			// every round, and only a change that shows may end a cached
			// answer.
			w.PollRound = w.PollRound.Round(100 * time.Millisecond)
			fmt.Fprintf(&b, "%s\x00%v\x00", st.Name, w)
		}
	}
	return b.String()
}

func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for t := range listItems(header) {
		if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}
