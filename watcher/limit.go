package watcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The kernel settings that bound inotify, per user.
const (
	sysctlWatches   = "fs.inotify.max_user_watches"
	sysctlInstances = "fs.inotify.max_user_instances"
)

// LimitError is the kernel refusing inotify for want of resources in a
// mode that may not fall back to polling (an explicit fsnotify): it names
// the setting to raise, and a value that would do when one is known. Its
// message leaves the root to the caller, who names the source.
type LimitError struct {
	Root   string
	Sysctl string // fs.inotify.max_user_watches or fs.inotify.max_user_instances
	Now    int    // its value, 0 when unknown
	Want   int    // a value that would cover the tree, 0 when unknown
	Err    error
}

func (e *LimitError) Error() string {
	msg := fmt.Sprintf("inotify limit reached (%v): raise %s", e.Err, e.Sysctl)
	if e.Want > 0 {
		msg += fmt.Sprintf(" from %d to at least %d (sysctl -w %s=%d)", e.Now, e.Want, e.Sysctl, e.Want)
	}
	return msg + ", or use mode auto, which polls what it cannot watch"
}

func (e *LimitError) Unwrap() error { return e.Err }

// errBudget is a folder past the number of watches the watcher allows
// itself, before the kernel would refuse.
var errBudget = errors.New("no watch left within the budget")

// isLimit is true for errors with which the kernel refuses inotify
// resources: ENOSPC for watches, EMFILE for instances.
func isLimit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, errBudget)
}

// readSysctl reads a number under /proc/sys; 0 when it cannot.
func readSysctl(name string) int {
	b, err := os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/")))
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// autoBudget is how many folders auto mode watches through inotify: the
// user's limit less a tenth (at least 1,024) for the editors and other
// watchers of the same user, who share it. Unknown limits leave it to
// the kernel.
func autoBudget(limit int) int {
	if limit <= 0 {
		return int(^uint(0) >> 1)
	}
	return max(limit-max(limit/10, 1024), 0)
}
