package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// The framing between the server and its workers: one JSON document a
// line, each way, bounded so that neither side can be made to buffer
// without end.
const (
	maxRequest  = 64 << 20 // a case: script, schemas and test file, each at most 5 MiB, JSON-escaped
	maxResponse = 1 << 20  // a result: message, expected and actual capped by Run, the message JSON-escaped
)

// hello is the first line a worker reads: its limits.
type hello struct {
	Memory  int64         `json:"memory"`  // bytes the worker may use beyond what it needs at rest
	Timeout time.Duration `json:"timeout"` // wall time of one case
}

// ready is the worker's answer to hello.
type ready struct {
	Rest  int64  `json:"rest"`  // virtual memory at rest, bytes
	Limit int64  `json:"limit"` // RLIMIT_AS set, bytes
	Error string `json:"error,omitempty"`
}

type request struct {
	ID   int64 `json:"id"`
	Case Case  `json:"case"`
}

type response struct {
	ID     int64               `json:"id"`
	Result registry.CaseResult `json:"result"`
}

// exitCPU is the worker's exit status when it ran out of CPU time.
const exitCPU = 3

// Worker is the body of a worker process (the hidden __test-worker
// command): it sets its own limits from the first line of in, then answers
// one case a line until in ends. It trusts nothing but its parent.
func Worker(in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 64<<10)
	line, err := readLine(r, maxRequest)
	if err != nil {
		return fmt.Errorf("read limits: %w", err)
	}
	var h hello
	if err := json.Unmarshal(line, &h); err != nil || h.Memory <= 0 || h.Timeout <= 0 {
		return fmt.Errorf("bad limits %q", line)
	}
	enc := json.NewEncoder(out)
	// The collector works hard before the kernel's cap is reached.
	debug.SetMemoryLimit(h.Memory * 9 / 10)
	rest, limit, err := limitAddressSpace(h.Memory)
	if err != nil {
		_ = enc.Encode(ready{Error: err.Error()})
		return err
	}
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		fmt.Fprintln(os.Stderr, "cpu limit exceeded")
		os.Exit(exitCPU)
	}()
	if err := enc.Encode(ready{Rest: rest, Limit: limit}); err != nil {
		return err
	}
	cpuSecs := int64(h.Timeout/time.Second) + 2
	for {
		line, err := readLine(r, maxRequest)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			return fmt.Errorf("bad request: %w", err)
		}
		if err := limitCPU(cpuSecs); err != nil {
			return err
		}
		if err := enc.Encode(response{ID: req.ID, Result: Run(req.Case, h.Timeout)}); err != nil {
			return err
		}
	}
}

// readLine reads one line of at most max bytes, without its newline.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, fmt.Errorf("line over %d bytes", max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
