package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// inCI is true when the environment variable CI is set, as every CI
// service sets it: there a test whose tools are missing fails, so that a
// green run never means "skipped" (the rule of the standard library's
// internal/testenv on its builders).
func inCI() bool { return os.Getenv("CI") != "" }

// tool returns the path of the first of names found in PATH. When none is
// there the test is skipped, with what to install, unless CI is set.
func tool(tb testing.TB, install string, names ...string) string {
	tb.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	missing(tb, "%s not found in PATH: %s", strings.Join(names, ", "), install)
	return ""
}

// missing skips the test with why, or fails it in CI.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if inCI() {
		tb.Fatalf(format+" (CI is set: a missing tool fails the run)", args...)
	}
	tb.Skipf(format+" (skipped; with CI set this fails)", args...)
}
