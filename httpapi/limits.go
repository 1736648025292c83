package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// spareHeadroom is how many connections past MaxConnections are accepted
// for /healthz, /readyz and /metrics only, so that a server full of
// clients can still say that it is alive.
const spareHeadroom = 8

// limitListener counts open connections. Past max it keeps headroom more,
// marked spare; past that it answers a plain 503 and closes at once,
// rather than leaving the client waiting in the kernel's backlog.
type limitListener struct {
	net.Listener
	max, headroom int
	open          atomic.Int64
}

func newLimitListener(ln net.Listener, max, headroom int) *limitListener {
	return &limitListener{Listener: ln, max: max, headroom: headroom}
}

// countedConn gives its slot back once, however often it is closed.
type countedConn struct {
	net.Conn
	spare bool
	once  sync.Once
	ln    *limitListener
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.ln.open.Add(-1) })
	return c.Conn.Close()
}

const refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.open.Add(1)
		if n <= int64(l.max+l.headroom) {
			return &countedConn{Conn: c, spare: n > int64(l.max), ln: l}, nil
		}
		l.open.Add(-1)
		msg := fmt.Sprintf("too many connections: the server holds at most %d (server.max_connections)\n", l.max)
		// A fresh socket's send buffer takes these few bytes at once; the
		// deadline only guards against a kernel that says otherwise.
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = fmt.Fprintf(c, refusal, len(msg), msg)
		_ = c.Close()
	}
}

type spareKey struct{}

// connContext marks the requests of spare connections.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*countedConn); ok && cc.spare {
		return context.WithValue(ctx, spareKey{}, true)
	}
	return ctx
}

// spareConnections serves only health and metrics on a spare connection,
// and closes it after the answer so that the headroom frees at once.
func spareConnections(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if spare, _ := r.Context().Value(spareKey{}).(bool); spare {
			w.Header().Set("Connection", "close")
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
			default:
				http.Error(w, "too many connections (server.max_connections): only /healthz, /readyz and /metrics are answered now", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gauge counts something held open against its limit.
type gauge struct {
	name string // the configuration key of the limit, for messages
	max  int64
	n    atomic.Int64
}

func newGauge(name string, max int) *gauge { return &gauge{name: name, max: int64(max)} }

// acquire takes one, or says why not; release gives it back.
func (g *gauge) acquire() error {
	if g.n.Add(1) > g.max {
		g.n.Add(-1)
		return fmt.Errorf("too many open: the server holds at most %d (%s); try again later", g.max, g.name)
	}
	return nil
}

func (g *gauge) release() { g.n.Add(-1) }
