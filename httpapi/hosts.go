package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// hostPolicy decides which Host headers are answered. A page that rebinds
// its own name to 127.0.0.1 (DNS rebinding) reaches the server under that
// name, which is never on the list; so it gets a 403 on every route,
// WebSocket and SSE included, and cannot read tasks or call mutations.
type hostPolicy struct {
	any   bool            // allowed_hosts has "*": no check
	anyIP bool            // bound to 0.0.0.0 or ::, so every address literal is ours
	names map[string]bool // lowercased, without port
}

func newHostPolicy(addr string, allowed []string) hostPolicy {
	p := hostPolicy{names: map[string]bool{}}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			p.anyIP = true
		} else if host != "" {
			p.names[normalHost(host)] = true
		}
	}
	for _, h := range allowed {
		if h == "*" {
			p.any = true
		}
		p.names[normalHost(h)] = true
	}
	return p
}

// normalHost drops the port, brackets, case and a trailing dot.
func normalHost(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().String()
	}
	return h
}

// allows reports whether a Host header is one of ours.
func (p hostPolicy) allows(hostport string) bool {
	if p.any {
		return true
	}
	h := normalHost(hostport)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || p.names[h] {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && (ip.IsLoopback() || p.anyIP)
}

func (p hostPolicy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.allows(r.Host) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "host %q is not served here: add it to server.allowed_hosts to allow it\n", r.Host)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// corsMiddleware lets browsers on the configured origins read answers;
// without it a cross-origin page gets no Access-Control-Allow-Origin and
// its browser keeps the answer from it.
func corsMiddleware(origins []string) func(http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		AllowedHeaders: []string{"Content-Type", "Accept", "If-None-Match", "Last-Event-ID"},
		ExposedHeaders: []string{"ETag"},
	}).Handler
}

// originHosts are the host patterns of the CORS origins, which a
// WebSocket's Origin may name besides the server's own (checked) Host.
func originHosts(origins []string) []string {
	var out []string
	for _, o := range origins {
		if o == "*" {
			out = append(out, "*")
			continue
		}
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			out = append(out, u.Host)
		}
	}
	return out
}
