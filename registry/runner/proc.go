package runner

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// proc is one worker process and the two goroutines that own its pipes:
// one reads its answers, one waits for it to exit. Both end when it dies.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	lines  chan []byte   // answers; closed when stdout ends
	done   chan struct{} // closed once the process has exited
	err    error         // from Wait, set before done closes
	stderr *tail
	rest   int64 // the worker's virtual memory at rest
	wg     sync.WaitGroup
}

// start runs a worker and sends it its limits.
func start(command, env []string, h hello) (*proc, error) {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = env
	// Its own process group, so that a terminal's Ctrl-C reaches the
	// server, which then stops its workers itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), lines: make(chan []byte, 1),
		done: make(chan struct{}), stderr: &tail{max: 4 << 10}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start test worker %s: %w", command[0], err)
	}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		defer close(p.lines)
		r := bufio.NewReaderSize(stdout, 64<<10)
		for {
			line, err := readLine(r, maxResponse)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					// An answer too long or cut short: the worker is not
					// speaking the protocol; it is killed and replaced.
					p.kill()
					_, _ = io.Copy(io.Discard, stdout)
				}
				return
			}
			p.lines <- line
		}
	}()
	go func() {
		defer p.wg.Done()
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := p.enc.Encode(h); err != nil {
		p.stop()
		return nil, fmt.Errorf("start test worker: %w", err)
	}
	line, ok := <-p.lines
	var r ready
	if !ok || json.Unmarshal(line, &r) != nil || r.Error != "" {
		p.stop()
		return nil, fmt.Errorf("test worker did not start: %s%s", r.Error, p.stderr.lastLine())
	}
	p.rest = r.Rest
	return p, nil
}

func (p *proc) kill() { _ = p.cmd.Process.Kill() }

// stop ends the worker: closing its input makes it exit; a worker that
// does not is killed. It waits for the process and its goroutines.
func (p *proc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	default:
		p.kill()
	}
	// Drain, so that the reader is not stuck handing over an answer.
	for range p.lines {
	}
	p.wg.Wait()
}

// deathReason says why a worker died, for the verdict of its case.
func (p *proc) deathReason(memory int64) string {
	<-p.done
	msg := p.stderr.String()
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
				return "killed"
			case ws.Signaled():
				return "killed by " + ws.Signal().String()
			case ws.ExitStatus() == exitCPU:
				return "CPU limit exceeded"
			}
		}
	}
	// What the Go runtime (and, in race-enabled builds, ThreadSanitizer)
	// says when an allocation fails under the address-space limit.
	for _, s := range []string{"out of memory", "cannot allocate memory", "failed to create new OS thread", "mmap",
		"failed to allocate", "address space collisions"} {
		if strings.Contains(msg, s) {
			return "memory limit " + registry.SizeString(memory)
		}
	}
	if l := p.stderr.lastLine(); l != "" {
		return "worker died: " + strings.TrimPrefix(l, ": ")
	}
	return fmt.Sprintf("worker died: %v", p.err)
}

// tail keeps the start and the end of a stream, bounded: a dying Go
// runtime prints why first, then goroutine traces.
type tail struct {
	mu   sync.Mutex
	head []byte
	buf  []byte
	max  int
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	if room := t.max - len(t.head); room > 0 {
		k := min(room, len(b))
		t.head = append(t.head, b[:k]...)
		b = b[k:]
	}
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.head) + "\n" + string(t.buf)
}

// lastLine is the first "fatal error" line, else the last line.
func (t *tail) lastLine() string {
	s := strings.TrimSpace(t.String())
	if s == "" {
		return ""
	}
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "fatal error:") {
			return ": " + l
		}
	}
	lines := strings.Split(s, "\n")
	return ": " + strings.TrimSpace(lines[len(lines)-1])
}
