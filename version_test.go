package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionStamped builds the real binary as the Taskfile does, with
// -buildvcs=true over a GOFLAGS that may say false, and checks that
// `version` names the commit checked out and whether the tree is modified.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	git := tool(t, "apt-get install git", "git")
	head, err := exec.Command(git, "rev-parse", "HEAD").Output()
	if err != nil {
		missing(t, "not in a git checkout: %v", err)
	}
	top, err := exec.Command(git, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		// The go command looks for a .git folder; a worktree has a file.
		missing(t, "the checkout's .git is not a folder (a git worktree?), so go build cannot stamp it")
	}
	status, err := exec.Command(git, "status", "--porcelain").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ratchet-registry")
	// Built as the test binary was (with -race under -race), so that the
	// packages come from the build cache and only the link is paid for.
	build := exec.Command("go", append(append([]string{"build"}, raceFlags...), "-buildvcs=true", "-o", bin, ".")...)
	build.Env = append(build.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", args, err, out)
		}
		modified := "modified: no\n"
		if len(status) > 0 {
			modified = "modified: yes, with uncommitted changes\n"
		}
		for _, want := range []string{"commit:   " + strings.TrimSpace(string(head)) + " (", modified, "go:       go1."} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: got\n%s\nwant it to contain %q", args, out, want)
			}
		}
	}
}
