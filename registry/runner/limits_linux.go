package runner

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// limitAddressSpace caps the worker's virtual memory at what it uses at
// rest plus budget. The Go runtime reserves address space up front (heap
// arenas, thread stacks), so a cap of budget alone would leave nothing;
// measuring at rest makes the cap mean "budget more than an idle worker".
// The kernel enforces it: an allocation past it fails, and the Go runtime
// then aborts the worker, which the pool reports as the case's verdict.
func limitAddressSpace(budget int64) (rest, limit int64, err error) {
	rest, err = procStatus(os.Getpid(), "VmSize:")
	if err != nil {
		return 0, 0, err
	}
	limit = rest + budget
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: uint64(limit), Max: uint64(limit)}); err != nil {
		return rest, 0, fmt.Errorf("setrlimit RLIMIT_AS: %w", err)
	}
	return rest, limit, nil
}

// limitCPU lets the worker use secs more seconds of CPU from now. The soft
// limit moves per case; past it the kernel sends SIGXCPU, on which the
// worker exits.
func limitCPU(secs int64) error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	used := ru.Utime.Sec + ru.Stime.Sec + 1
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CPU, &cur); err != nil {
		return err
	}
	soft := uint64(used + secs)
	if soft > cur.Max {
		soft = cur.Max
	}
	return unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: soft, Max: cur.Max})
}

// procStatus reads one size field ("VmSize:", "VmRSS:") of
// /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	_, rest, ok := bytes.Cut(data, []byte(field))
	if !ok {
		return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
	}
	rest, _, _ = bytes.Cut(rest, []byte("\n"))
	f := bytes.Fields(rest)
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/%d/status: empty %s", pid, field)
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
	}
	return kb << 10, nil
}
