package lsp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// The bounds of the base protocol's framing. A client controls every byte
// of it, so each quantity is capped before memory is spent on it.
const (
	maxHeaderLine  = 4 << 10 // one header line
	maxHeaderLines = 32      // header lines of one message
)

// errTooLarge is a message whose body is over the limit: its bytes were
// read and thrown away, and the connection goes on with the next message.
type errTooLarge struct{ size, limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("message of %d bytes is over the %d-byte limit for one message (--max-message)", e.size, e.limit)
}

// conn is one JSON-RPC 2.0 connection framed as the Language Server
// Protocol's base protocol frames it: a Content-Length header, a blank
// line, the body. Reading is for one goroutine; writing may come from any.
type conn struct {
	r   *bufio.Reader
	max int64

	mu sync.Mutex // serialises writes, so that two messages never interleave
	w  io.Writer
}

func newConn(r io.Reader, w io.Writer, max int64) *conn {
	return &conn{r: bufio.NewReaderSize(r, maxHeaderLine), w: w, max: max}
}

// read returns the next message's body. A body over the limit is skipped
// and reported as *errTooLarge; any other error ends the connection.
func (c *conn) read() ([]byte, error) {
	size := int64(-1)
	for n := 0; ; n++ {
		if n == maxHeaderLines {
			return nil, fmt.Errorf("header of more than %d lines", maxHeaderLines)
		}
		line, err := c.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("header line over the %d-byte limit", maxHeaderLine)
		}
		if err != nil {
			if err == io.EOF && n == 0 && len(line) == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if size < 0 {
				if n == 0 {
					n-- // blank lines between messages are not headers
					continue
				}
				return nil, errors.New("message without a Content-Length header")
			}
			break
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			return nil, fmt.Errorf("header line %q is not NAME: VALUE", truncate(string(line), 80))
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			size, err = strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || size < 0 {
				return nil, fmt.Errorf("Content-Length %q is not a length", truncate(strings.TrimSpace(value), 80))
			}
		}
	}
	if size > c.max {
		if _, err := io.CopyN(io.Discard, c.r, size); err != nil {
			return nil, fmt.Errorf("skip a message over the limit: %w", err)
		}
		return nil, &errTooLarge{size: size, limit: c.max}
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, fmt.Errorf("read a message of %d bytes: %w", size, err)
	}
	return body, nil
}

// write sends one message.
func (c *conn) write(msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode a message: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n", len(body)); err != nil {
		return err
	}
	_, err = c.w.Write(body)
	return err
}

// incoming is a message from the client: a request (ID and Method), a
// notification (Method alone) or a response to a request of ours (ID
// alone), which is read and dropped.
type incoming struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
}

// response answers a request; exactly one of Result and Error is set.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
	Error   *rpcError       `json:"error,omitempty"`
}

// outgoing is a notification or request of ours.
type outgoing struct {
	JSONRPC string `json:"jsonrpc"`
	ID      *int64 `json:"id,omitempty"`
	Method  string `json:"method"`
	Params  any    `json:"params,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// JSON-RPC and LSP error codes.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeNotInitialized = -32002
	codeRequestFailed  = -32803
)

// truncate shortens s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
