package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/schema"
)

func TestGraphQLOverHTTP(t *testing.T) {
	ts := newTestServer(t, catalogue)
	long := "{ tasks { id } }" + strings.Repeat(" ", 70_000)
	deep := "{ tasks { id " + strings.Repeat("... on Task { ", 20) + "id" + strings.Repeat(" }", 20) + " } }"
	deeper := "{ a: task(id: \"x\") { label } " + strings.Repeat("tasks { error { source } ", 1) + "} }"
	tests := []struct {
		name       string
		method     string
		ctype      string
		accept     string
		body       string // POST body, or the GET query string
		wantStatus int
		wantMedia  string
		wantData   bool
		wantErr    string
	}{
		{"post json", "POST", "application/json", "application/json", `{"query": "{ tasks { id } }"}`, 200, "application/json", true, ""},
		{"post modern", "POST", "application/json", "application/graphql-response+json", `{"query": "{ tasks { id } }"}`, 200, "application/graphql-response+json", true, ""},
		{"post no accept", "POST", "application/json; charset=utf-8", "", `{"query": "{ tasks { id } }"}`, 200, "application/json", true, ""},
		{"post nulls", "POST", "application/json", "", `{"query": "{ tasks { id } }", "variables": null, "operationName": null, "extensions": null}`, 200, "application/json", true, ""},
		{"get query", "GET", "", "", "query=" + url.QueryEscape("{ tasks { id } }"), 200, "application/json", true, ""},
		{"parse error modern", "POST", "application/json", "application/graphql-response+json", `{"query": "{"}`, 400, "application/graphql-response+json", false, "Syntax Error"},
		{"parse error default", "POST", "application/json", "*/*", `{"query": "{ tasks { "}`, 400, "application/json", false, "Syntax Error"},
		{"parse error legacy json", "POST", "application/json", "application/json", `{"query": "{"}`, 200, "application/json", false, "Syntax Error"},
		{"validation error", "POST", "application/json", "application/graphql-response+json", `{"query": "{ nope }"}`, 400, "application/graphql-response+json", false, `Cannot query field "nope"`},
		{"variable coercion", "POST", "application/json", "application/graphql-response+json", `{"query": "query($id: ID!) { task(id: $id) { id } }", "variables": {"id": null}}`, 400, "application/graphql-response+json", false, "Variable"},
		{"not json", "POST", "application/json", "", `{"query": `, 400, "application/json", false, "not a JSON object"},
		{"query not a string", "POST", "application/json", "", `{"query": 7}`, 400, "application/json", false, "wrong type"},
		{"no query", "POST", "application/json", "", `{}`, 400, "application/json", false, `missing "query"`},
		{"wrong content type", "POST", "text/plain", "", `{"query": "{ tasks { id } }"}`, 415, "application/json", false, "send the request as application/json"},
		{"no content type", "POST", "", "", `{"query": "{ tasks { id } }"}`, 415, "application/json", false, "application/json"},
		{"not acceptable", "POST", "application/json", "text/html", `{"query": "{ tasks { id } }"}`, 406, "application/json", false, "accept"},
		{"get mutation", "GET", "", "application/graphql-response+json", "query=" + url.QueryEscape("mutation { reload }"), 405, "application/graphql-response+json", false, "POST"},
		{"get without query", "GET", "", "", "", 400, "application/json", false, `missing "query"`},
		{"get bad variables", "GET", "", "", "query=" + url.QueryEscape("{ tasks { id } }") + "&variables=[1]", 400, "application/json", false, "variables"},
		{"fragment cycle", "POST", "application/json", "", `{"query": "{ tasks { ...A } } fragment A on Task { id ...B } fragment B on Task { version ...A }"}`, 400, "application/json", false, `Cannot spread fragment "A" within itself via B`},
		{"fragment self", "POST", "application/json", "", `{"query": "{ tasks { ...A } } fragment A on Task { ...A }"}`, 400, "application/json", false, "within itself"},
		{"inline fragments add no depth", "POST", "application/json", "", mustJSON(map[string]string{"query": deep}), 200, "application/json", true, ""},
		{"too long", "POST", "application/json", "", mustJSON(map[string]string{"query": long}), 400, "application/json", false, "over the limit"},
		{"shallow enough", "POST", "application/json", "", mustJSON(map[string]string{"query": deeper}), 200, "application/json", true, ""},
		{"subscription over plain http", "POST", "application/json", "", `{"query": "subscription { registryEvents { kind } }"}`, 400, "application/json", false, "subscriptions need"},
		{"two operations unnamed", "POST", "application/json", "", `{"query": "query A { tasks { id } } query B { tasks { id } }"}`, 400, "application/json", false, "operationName"},
		{"named operation", "POST", "application/json", "", `{"query": "query A { tasks { id } } query B { tasks { id } }", "operationName": "B"}`, 200, "application/json", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req *http.Request
			if tc.method == "GET" {
				req, _ = http.NewRequest("GET", ts.URL+"/graphql?"+tc.body, nil)
			} else {
				req, _ = http.NewRequest("POST", ts.URL+"/graphql", strings.NewReader(tc.body))
				if tc.ctype != "" {
					req.Header.Set("Content-Type", tc.ctype)
				}
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			status, h, body := do(t, req)
			if status != tc.wantStatus {
				t.Errorf("got status %d, want %d: %v", status, tc.wantStatus, body)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantMedia) || !strings.Contains(ct, "charset=utf-8") {
				t.Errorf("got content type %q, want %s; charset=utf-8", ct, tc.wantMedia)
			}
			if _, has := body["data"]; has != tc.wantData {
				t.Errorf("got data entry %v, want %v: %v", has, tc.wantData, body)
			}
			if tc.wantErr != "" && !strings.Contains(messages(body), tc.wantErr) {
				t.Errorf("got errors %v, want one containing %q", body["errors"], tc.wantErr)
			}
			if tc.wantErr == "" && body["errors"] != nil {
				t.Errorf("got errors %v, want none", body["errors"])
			}
		})
	}
	// After every bad request above, the server still answers.
	if status, _, _ := post(t, ts.URL, "", "{ tasks { id } }", nil); status != 200 {
		t.Fatalf("server stopped answering: %d", status)
	}
}

func TestDepthLimit(t *testing.T) {
	ts := newTestServer(t, catalogue)
	nest := func(n int) string {
		// __schema { types { fields { type { ofType { ... { name } } } } } }
		return "{ __schema { types { fields { type { " + strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n) + " } } } } }"
	}
	tests := []struct {
		name       string
		query      string
		wantStatus int
	}{
		{"at the limit", nest(10), 200}, // 4 + 10 + name = 15
		{"over the limit", nest(11), 400},
		{"over the limit through fragments", "{ __schema { ...T } } fragment T on __Schema { types { fields { type { ...R } } } } fragment R on __Type { " + strings.Repeat("ofType { ", 11) + "name" + strings.Repeat(" }", 11) + " }", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, ts.URL, "application/graphql-response+json", tc.query, nil)
			if status != tc.wantStatus {
				t.Fatalf("got %d %v, want %d", status, body, tc.wantStatus)
			}
			if tc.wantStatus == 400 && !strings.Contains(messages(body), "over the limit of 15") {
				t.Errorf("got %v, want the depth limit named", body)
			}
		})
	}
}

// TestSelectionLimit: a query repeating one selection within the 64 KiB
// limit is refused with a 400 that names the limit, before graphql-go's
// validation spends seconds on it; at the limit it runs.
func TestSelectionLimit(t *testing.T) {
	ts := newTestServer(t, catalogue)
	for _, tc := range []struct {
		name   string
		query  string
		status int
	}{
		{"at the limit", "{" + strings.Repeat("tasks{id}", schema.MaxSelections/2) + "}", 200},
		{"over the limit", "{" + strings.Repeat("tasks{id}", schema.MaxSelections/2) + "__typename}", 400},
		{"one selection repeated in 64 KiB", "{" + strings.Repeat("tasks{id}", 7270) + "}", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, ts.URL, "application/graphql-response+json", tc.query, nil)
			if status != tc.status {
				t.Fatalf("got %d %.300v, want %d", status, body, tc.status)
			}
			if want := fmt.Sprintf("over %d selections", schema.MaxSelections); tc.status == 400 && !strings.Contains(messages(body), want) {
				t.Errorf("got %.300v, want the limit named (%q)", body, want)
			}
		})
	}
}

func TestETag(t *testing.T) {
	ts := newTestServer(t, catalogue)
	u := ts.URL + "/graphql?query=" + url.QueryEscape("{ registry { generation } tasks { id version } }")
	get := func(inm string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest("GET", u, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		return do(t, req)
	}
	status, h, _ := get("")
	etag := h.Get("ETag")
	if status != 200 || etag == "" {
		t.Fatalf("got %d with ETag %q, want 200 and a tag", status, etag)
	}
	if status, _, body := get(etag); status != 304 || body != nil {
		t.Fatalf("got %d %v for an unchanged catalogue, want 304 and no body", status, body)
	}
	if status, _, _ := get(`W/"other", ` + etag); status != 304 {
		t.Errorf("got %d for a list of tags, want 304", status)
	}
	// Another query over the same snapshot has another tag.
	req, _ := http.NewRequest("GET", ts.URL+"/graphql?query="+url.QueryEscape("{ tasks { id } }"), nil)
	req.Header.Set("If-None-Match", etag)
	if status, _, _ := do(t, req); status != 200 {
		t.Errorf("got %d for another query with the same tag, want 200", status)
	}
	// A change to the catalogue makes the old tag stale.
	ts.reg.Apply(registryUpdateRemovingAll(ts))
	status, h, body := get(etag)
	if status != 200 || h.Get("ETag") == etag {
		t.Errorf("got %d with tag %s after a change, want 200 and a new tag", status, h.Get("ETag"))
	}
	if got := mustJSON(body["data"]); !strings.Contains(got, `"tasks":[]`) {
		t.Errorf("got %s, want the changed catalogue", got)
	}
}

// messages joins the messages of a GraphQL answer's errors.
func messages(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	var out []string
	for _, e := range errs {
		m, _ := e.(map[string]any)
		msg, _ := m["message"].(string)
		out = append(out, msg)
	}
	return strings.Join(out, "; ")
}
