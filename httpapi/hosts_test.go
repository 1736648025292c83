package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// realServer serves dir on 127.0.0.1:0 through the http.Server and the
// listener that serve uses, with cfg changed by edit.
type realServer struct {
	url  string
	srv  *Server
	ln   *limitListener
	reg  *registry.Registry
	feed *registry.Feed
}

func startServer(tb testing.TB, dir string, edit func(*Config)) *realServer {
	tb.Helper()
	ts := loadedRegistry(tb, dir)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{Registry: ts.reg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Feed: ts.feed,
		Content: taskformat.NewContent(1 << 20), Executor: ts.exec, Addr: tcp.Addr().String(),
		WSInitTimeout: time.Second, SSEHeartbeat: 20 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	s := New(cfg)
	streams, stop := context.WithCancel(context.Background())
	hs := s.HTTPServer(streams)
	hs.RegisterOnShutdown(stop)
	ln := s.Listener(tcp).(*limitListener)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		stop()
		s.Wait()
		<-done
		http.DefaultClient.CloseIdleConnections()
	})
	return &realServer{url: "http://" + tcp.Addr().String(), srv: s, ln: ln, reg: ts.reg, feed: ts.feed}
}

// request sends method to path with a Host header and more headers.
func request(tb testing.TB, method, url, host string, header map[string]string) (int, http.Header, string) {
	tb.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestAllowedHosts: a DNS-rebinding page reaches the server under its own
// name; every route refuses it, streams included, while the names the
// server is known by are answered.
func TestAllowedHosts(t *testing.T) {
	gql := "/graphql?query=" + url.QueryEscape("{ tasks { id script } }")
	routes := []struct {
		name, path string
		header     map[string]string
	}{
		{"graphql", gql, nil},
		{"sse", gql, map[string]string{"Accept": "text/event-stream"}},
		{"health", "/healthz", nil},
		{"page", "/", nil},
		{"index", "/v1/index.json", nil},
		{"metrics or 404", "/metrics", nil},
	}
	tests := []struct {
		name    string
		addr    string // bound address as configured; empty: the listener's
		allowed []string
		host    string
		want    bool
	}{
		{"localhost", "", nil, "localhost:8080", true},
		{"a .localhost name", "", nil, "tasks.localhost", true},
		{"loopback v4", "", nil, "127.0.0.2:8080", true},
		{"loopback v6", "", nil, "[::1]:8080", true},
		{"rebinding name", "", nil, "evil.example:8080", false},
		{"another address", "", nil, "192.168.1.7:8080", false},
		{"allowed name", "", []string{"tasks.example"}, "TASKS.example.:8080", true},
		{"allowed name, another one asked", "", []string{"tasks.example"}, "evil.example", false},
		{"star", "", []string{"*"}, "evil.example", true},
		{"bound name", "registry.lan:8080", nil, "registry.lan:8080", true},
		{"bound to every address", "0.0.0.0:8080", nil, "192.168.1.7:8080", true},
		{"bound to every address, a name", "0.0.0.0:8080", nil, "evil.example:8080", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, catalogue, func(c *Config) {
				if tc.addr != "" {
					c.Addr = tc.addr
				}
				c.AllowedHosts = tc.allowed
			})
			for _, r := range routes {
				status, _, body := request(t, "GET", s.url+r.path, tc.host, r.header)
				if refused := status == http.StatusForbidden; refused == tc.want {
					t.Errorf("%s: got %d %q, want allowed %v", r.name, status, body, tc.want)
				}
				if status == http.StatusForbidden && !strings.Contains(body, "server.allowed_hosts") {
					t.Errorf("%s: got %q, want the refusal to name server.allowed_hosts", r.name, body)
				}
			}
			c, resp, err := websocket.Dial(context.Background(), strings.Replace(s.url, "http", "ws", 1)+"/graphql",
				&websocket.DialOptions{Host: tc.host, Subprotocols: []string{wsProtocol}})
			if c != nil {
				c.CloseNow()
			}
			if refused := err != nil && resp != nil && resp.StatusCode == http.StatusForbidden; refused == tc.want {
				t.Errorf("websocket: got %v (%v), want allowed %v", resp, err, tc.want)
			}
		})
	}
}

// TestWebSocketOrigin: the Host is ours, but a page on another origin may
// not open a socket unless cors_origins lists it.
func TestWebSocketOrigin(t *testing.T) {
	s := startServer(t, catalogue, func(c *Config) { c.CORSOrigins = []string{"https://dash.example"} })
	host := strings.TrimPrefix(s.url, "http://")
	tests := []struct {
		origin string
		want   bool
	}{
		{"", true}, // not a browser
		{"http://" + host, true},
		{"https://dash.example", true},
		{"http://evil.example", false},
		{"http://evil.example:" + strings.Split(host, ":")[1], false},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, resp, err := websocket.Dial(context.Background(), "ws://"+host+"/graphql",
				&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{wsProtocol}})
			if c != nil {
				c.CloseNow()
			}
			if got := err == nil; got != tc.want {
				t.Errorf("got accepted %v (%v), want %v", got, err, tc.want)
			}
			if !tc.want && (resp == nil || resp.StatusCode != http.StatusForbidden) {
				t.Errorf("got %v, want 403", resp)
			}
		})
	}
}

// TestCORS: browsers on a listed origin may read answers; others get no
// Access-Control-Allow-Origin, so their browser keeps the answer from them.
func TestCORS(t *testing.T) {
	gql := "/graphql?query=" + url.QueryEscape("{ tasks { id } }")
	tests := []struct {
		name    string
		origins []string
		method  string
		origin  string
		want    string
	}{
		{"off by default", nil, "GET", "https://dash.example", ""},
		{"listed", []string{"https://dash.example"}, "GET", "https://dash.example", "https://dash.example"},
		{"not listed", []string{"https://dash.example"}, "GET", "https://evil.example", ""},
		{"preflight listed", []string{"https://dash.example"}, "OPTIONS", "https://dash.example", "https://dash.example"},
		{"preflight not listed", []string{"https://dash.example"}, "OPTIONS", "https://evil.example", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, catalogue, func(c *Config) { c.CORSOrigins = tc.origins })
			h := map[string]string{"Origin": tc.origin}
			if tc.method == "OPTIONS" {
				h["Access-Control-Request-Method"] = "POST"
				h["Access-Control-Request-Headers"] = "content-type"
			}
			_, header, _ := request(t, tc.method, s.url+gql, "", h)
			if got := header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Errorf("got Access-Control-Allow-Origin %q, want %q", got, tc.want)
			}
		})
	}
}

// TestETagAcrossReplicas: two registries fed by the same folder give the
// same ETag for the same query, so a 304 from one holds on the other, even
// though their generation counters differ; a change moves the ETag.
func TestETagAcrossReplicas(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, catalogue, dir)
	a, b := newTestServer(t, dir), newTestServer(t, dir)
	b.rescan(t) // another generation, the same catalogue
	b.rescan(t)
	url := "/graphql?query=" + url.QueryEscape("{ tasks { id label } loadErrors { path } sources { name status } }")
	_, ha, _ := request(t, "GET", a.URL+url, "", nil)
	_, hb, _ := request(t, "GET", b.URL+url, "", nil)
	if ha.Get("ETag") == "" || ha.Get("ETag") != hb.Get("ETag") {
		t.Fatalf("got ETags %q and %q, want one", ha.Get("ETag"), hb.Get("ETag"))
	}
	if status, _, body := request(t, "GET", b.URL+url, "", map[string]string{"If-None-Match": ha.Get("ETag")}); status != http.StatusNotModified || body != "" {
		t.Errorf("replica b: got %d %q, want 304", status, body)
	}
	a.relabel(t, dir, "Changed")
	if status, _, _ := request(t, "GET", a.URL+url, "", map[string]string{"If-None-Match": ha.Get("ETag")}); status != http.StatusOK {
		t.Errorf("after a change: got %d, want 200", status)
	}
}

// TestHead: HEAD answers as GET would, without the body.
func TestHead(t *testing.T) {
	ts := newTestServer(t, catalogue)
	url := ts.URL + "/graphql?query=" + url.QueryEscape("{ tasks { id } }")
	gs, gh, gb := request(t, "GET", url, "", nil)
	hs, hh, hb := request(t, "HEAD", url, "", nil)
	if gs != 200 || hs != 200 || hb != "" || gb == "" {
		t.Errorf("got GET %d (%d bytes), HEAD %d %q; want 200 both, HEAD without a body", gs, len(gb), hs, hb)
	}
	for _, k := range []string{"ETag", "Content-Type", "Content-Length"} {
		if gh.Get(k) != hh.Get(k) {
			t.Errorf("%s: got %q for HEAD, %q for GET", k, hh.Get(k), gh.Get(k))
		}
	}
	if status, _, _ := request(t, "HEAD", url, "", map[string]string{"If-None-Match": gh.Get("ETag")}); status != http.StatusNotModified {
		t.Errorf("got %d, want 304", status)
	}
}
