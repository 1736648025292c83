package httpapi

import (
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// allocatedBy is the bytes that f allocates, garbage included.
func allocatedBy(tb testing.TB, f func()) uint64 {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileHeaderLists: a list header near net/http's 1 MiB limit,
// made of separators or of items, is read without allocating for its
// items. strings.Split made a 16-byte string header per comma (16 MiB
// for one request) and negotiate parsed every item as a media type (46
// MiB for 1 MiB of `a/b;q=1,`): 100 requests with 1 MiB of commas in
// Accept took 11.1 s of the server's CPU, against 1.1 s for the same
// bytes in a header nobody reads.
func TestHostileHeaderLists(t *testing.T) {
	const size = 1<<20 - 100
	fill := func(item string) string { return strings.Repeat(item, size/len(item)) }
	etag := `W/"abc-def"`
	sse := func(accept string) { wantsSSE(&http.Request{Header: http.Header{"Accept": {accept}}}) }
	ws := func(v string) { headerHas(http.Header{"Connection": {v}}, "Connection", "upgrade") }
	for _, tc := range []struct {
		name  string
		parse func(string)
		value string
	}{
		{"If-None-Match of commas", func(h string) { etagMatches(h, etag) }, fill(",")},
		{"If-None-Match of tags", func(h string) { etagMatches(h, etag) }, fill(`W/"x",`)},
		{"If-None-Match of one open quote", func(h string) { etagMatches(h, etag) }, `"` + fill(",")},
		{"Accept of commas", func(h string) { negotiate(h) }, fill(",")},
		{"Accept of media ranges", func(h string) { negotiate(h) }, fill("a/b;q=1,")},
		{"Accept of parameters", func(h string) { negotiate(h) }, "a/b" + fill(";q=1")},
		{"Accept of media ranges, for SSE", sse, fill("a/b;q=1,")},
		{"Accept-Encoding of commas", func(h string) { pickCoding(h) }, fill(",")},
		{"Accept-Encoding of codings", func(h string) { pickCoding(h) }, fill("br;q=1,")},
		{"Accept-Encoding of bad weights", func(h string) { pickCoding(h) }, fill("br;q=x,")},
		{"Connection of tokens", ws, fill("keep-alive,")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := allocatedBy(t, func() { tc.parse(tc.value) }); n > 4<<10 {
				t.Errorf("reading %d bytes allocated %d bytes, want at most 4 KiB", len(tc.value), n)
			}
		})
	}
}

// TestListItems: items are trimmed, empty ones skipped, a quoted comma
// does not end one, and past maxListItems the rest is absent.
func TestListItems(t *testing.T) {
	many := strings.Repeat("a, ", maxListItems)
	for _, tc := range []struct {
		name   string
		header string
		want   []string
	}{
		{"empty", "", nil},
		{"commas", " ,, ,", nil},
		{"trimmed", " gzip ;q=1 ,\tbr", []string{"gzip ;q=1", "br"}},
		{"quoted commas", `W/"a,b", "c\",d", e`, []string{`W/"a,b"`, `"c\",d"`, "e"}},
		{"empty items are not counted", strings.Repeat(",", 1000) + "x", []string{"x"}},
		{"past the limit", many + "b", slices.Repeat([]string{"a"}, maxListItems)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slices.Collect(listItems(tc.header)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHeaderLists is what each header's reader makes of a list, weights
// spelt every way RFC 9110 allows: a parameter's name is
// case-insensitive (`gzip;Q=0` refused gzip, yet it was sent), and the
// weight may follow other parameters.
func TestHeaderLists(t *testing.T) {
	etag := `W/"abc-def"`
	past := strings.Repeat("x/y, ", maxListItems)
	for _, tc := range []struct {
		name, header string
		got          func(string) any
		want         any
	}{
		{"gzip;Q=0", "gzip;Q=0", func(h string) any { return pickCoding(h) }, ""},
		{"gzip; q=0.000", "gzip; q=0.000", func(h string) any { return pickCoding(h) }, ""},
		{"zstd;Q=0, gzip;q=0", "zstd;Q=0, gzip;q=0", func(h string) any { return pickCoding(h) }, ""},
		{"gzip ; q=0", "gzip ; q=0", func(h string) any { return pickCoding(h) }, ""},
		{"weight after another parameter", "zstd;level=3;Q=0, gzip", func(h string) any { return pickCoding(h) }, "gzip"},
		{"weight not zero", "zstd;q=0.001, gzip", func(h string) any { return pickCoding(h) }, "zstd"},
		{"weight 0.", "zstd;q=0., GZIP", func(h string) any { return pickCoding(h) }, "gzip"},
		{"x-gzip", "x-gzip;q=1", func(h string) any { return pickCoding(h) }, "gzip"},
		{"coding past the limit", strings.Repeat("br, ", maxListItems) + "zstd", func(h string) any { return pickCoding(h) }, ""},
		{"etag among others", `W/"x", ` + etag, func(h string) any { return etagMatches(h, etag) }, true},
		{"strong spelling of a weak etag", `"abc-def"`, func(h string) any { return etagMatches(h, etag) }, true},
		{"star", "*", func(h string) any { return etagMatches(h, etag) }, true},
		{"other etag", `W/"abc-deg"`, func(h string) any { return etagMatches(h, etag) }, false},
		{"etag past the limit", strings.Repeat(`"x", `, maxListItems) + etag, func(h string) any { return etagMatches(h, etag) }, false},
		{"graphql-response refused", "application/graphql-response+json;Q=0, application/json", func(h string) any { r, _ := negotiate(h); return r }, response{media: mediaJSON, legacy: true}},
		{"media types in any case", "Application/GraphQL-Response+JSON", func(h string) any { r, _ := negotiate(h); return r }, response{media: mediaResponse}},
		{"any", "text/html, */*;q=0.1", func(h string) any { r, _ := negotiate(h); return r }, response{media: mediaJSON}},
		{"media range past the limit", past + "application/json", func(h string) any { _, ok := negotiate(h); return ok }, false},
		{"SSE refused", "text/event-stream;q=0", func(h string) any { return wantsSSE(&http.Request{Header: http.Header{"Accept": {h}}}) }, false},
		{"SSE", "application/json, Text/Event-Stream", func(h string) any { return wantsSSE(&http.Request{Header: http.Header{"Accept": {h}}}) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(tc.header); got != tc.want {
				t.Errorf("%q: got %#v, want %#v", tc.header, got, tc.want)
			}
		})
	}
}

// TestHeaderListsOverHTTP: what a client gets when what it means comes
// past the 64th item of a list header: the limit named in a 406, a full
// answer to a conditional request; and a megabyte of commas is read.
func TestHeaderListsOverHTTP(t *testing.T) {
	ts := newTestServer(t, catalogue)
	u := ts.URL + "/graphql?query=" + url.QueryEscape("{ tasks { id } }")
	_, h, _ := do(t, mustRequest(t, u, nil))
	etag := h.Get("ETag")
	tags := func(n int) string { return strings.Repeat(`"x", `, n) }
	for _, tc := range []struct {
		name     string
		header   map[string]string
		status   int
		contains string
	}{
		{"Accept past the limit", map[string]string{"Accept": strings.Repeat("text/html, ", maxListItems) + "application/json"}, http.StatusNotAcceptable, "first 64 media ranges"},
		{"Accept within the limit", map[string]string{"Accept": strings.Repeat("text/html, ", maxListItems-1) + "application/json"}, http.StatusOK, ""},
		{"If-None-Match past the limit", map[string]string{"If-None-Match": tags(maxListItems) + etag}, http.StatusOK, ""},
		{"If-None-Match within the limit", map[string]string{"If-None-Match": tags(maxListItems-1) + etag}, http.StatusNotModified, ""},
		{"a megabyte of commas", map[string]string{"Accept": strings.Repeat(",", 512<<10) + "application/json", "If-None-Match": strings.Repeat(",", 500<<10) + etag}, http.StatusNotModified, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, mustRequest(t, u, tc.header))
			if status != tc.status || !strings.Contains(messages(body), tc.contains) {
				t.Errorf("got %d %v, want %d naming %q", status, body, tc.status, tc.contains)
			}
		})
	}
}

func mustRequest(tb testing.TB, u string, header map[string]string) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}
