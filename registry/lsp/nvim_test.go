package lsp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNeovim is a real editor's client: Neovim's built-in LSP client,
// headless, opens a task, edits it without saving and reads the
// diagnostics. Without Neovim the test skips, and fails when CI is set,
// as the browser tests do.
func TestNeovim(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nvim not found, and CI is set: install Debian's neovim package")
		}
		t.Skip("nvim not found: install Neovim (Debian: apt-get install neovim) to run this test")
	}
	dir := t.TempDir()
	copyTask(t, "add", dir, "add")
	out := filepath.Join(t.TempDir(), "diagnostics.txt")
	script, err := filepath.Abs(filepath.Join("testdata", "nvim.lua"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", "luafile "+script)
	cmd.Env = append(os.Environ(), "RR_BIN="+binary(t), "RR_FOLDER="+dir, "RR_OUT="+out, "XDG_STATE_HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nvim: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("nvim wrote no diagnostics: %v", err)
	}
	want := "3:2-3:9 ratchet-registry INVALID field \"label\" is missing; found \"lable\": did you mean \"label\"?\nmodified=true\n"
	if got := string(data); got != want {
		t.Fatalf("Neovim read\n%s\nwant\n%s", got, want)
	}
	// Unsaved: the file on disk still has its label.
	disk, _ := os.ReadFile(filepath.Join(dir, "add", "metadata.json"))
	if !strings.Contains(string(disk), `"label"`) {
		t.Fatal("the edit reached the disk: it was meant to stay unsaved")
	}
}
