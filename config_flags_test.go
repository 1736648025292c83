package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagsPassTheConfigurationChecks: a flag that mirrors a
// configuration key is refused where the key would be, as a usage error
// (exit 2) that names the flag and the key, before anything runs. serve
// logs its problems, so quotes show escaped there.
func TestFlagsPassTheConfigurationChecks(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"test, memory under the minimum", []string{"test", "--memory", "1MiB", "examples"}, "--memory is 1MiB: the minimum is 32MiB (tests.memory)"},
		{"test, memory not a size", []string{"test", "--memory", "lots", "examples"}, `want a size such as 256MiB`},
		{"test, no time", []string{"test", "--timeout", "0s", "examples"}, "--timeout is 0s: must be more than 0 (tests.timeout)"},
		{"test, negative workers", []string{"test", "--workers", "-1", "examples"}, "--workers is -1: want 0 (one per CPU) or more (tests.workers)"},
		{"serve, addr without a port", []string{"serve", "--addr", "localhost", "examples"}, `--addr is \"localhost\": write HOST:PORT, such as localhost:8080 (server.addr)`},
		{"serve, addr with a bad port", []string{"serve", "--addr", "127.0.0.1:http-alt", "examples"}, `is \"127.0.0.1:http-alt\": the port must be a number from 0 to 65535 (0: any free port) (server.addr)`},
		{"serve, poll interval 0", []string{"serve", "--watch", "poll", "--poll-interval", "0s", "examples"}, "--poll-interval is 0s: the minimum is 100ms (watch.poll_interval)"},
		{"lsp, memory under the minimum", []string{"lsp", "--memory", "1MiB"}, "--memory is 1MiB: the minimum is 32MiB (tests.memory)"},
		{"lsp, negative workers", []string{"lsp", "--workers", "-1"}, "--workers is -1: want 0 (one per CPU) or more (tests.workers)"},
		{"lsp, no time", []string{"lsp", "--timeout", "0s"}, "--timeout is 0s: must be more than 0 (tests.timeout)"},
		{"lsp, a bad watch mode", []string{"lsp", "--watch", "inotify"}, `--watch is "inotify": want auto, fsnotify, poll or off (watch.mode)`},
		{"serve, empty watch mode", []string{"serve", "--watch", "", "examples"}, `--watch is \"\": want auto, fsnotify, poll or off (watch.mode)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got exit %d, stderr:\n%s\nwant exit 2, stderr with %q", code, stderr.String(), tc.wantStderr)
			}
			if strings.Contains(stdout.String(), "passed") {
				t.Errorf("got stdout %q: the cases ran", stdout.String())
			}
		})
	}
}

// TestConfigAddr: server.addr is checked with the rest of the file, at its
// line, rather than when the server tries to listen.
func TestConfigAddr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("server:\n  addr: 8080\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadConfig(path)
	want := path + `:2: server.addr: is "8080": write HOST:PORT, such as 127.0.0.1:8080`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
