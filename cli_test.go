package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantPaths []string
		wantOut   string
		wantDry   bool
		wantErr   string
	}{
		{"flags first", []string{"--out", "o", "a"}, []string{"a"}, "o", false, ""},
		{"flags last", []string{"a", "b", "--out", "o", "--dry"}, []string{"a", "b"}, "o", true, ""},
		{"flags between, with =", []string{"a", "-out=o", "b"}, []string{"a", "b"}, "o", false, ""},
		{"-- ends flags", []string{"--dry", "--", "--out", "-x"}, []string{"--out", "-x"}, "", true, ""},
		{"a lone dash is a path", []string{"-"}, []string{"-"}, "", false, ""},
		{"unknown flag is an error", []string{"a", "--addr", "x"}, nil, "", false, "unknown flag --addr"},
		{"missing value", []string{"a", "--out"}, nil, "", false, "flag --out needs a value"},
		{"bad bool", []string{"--dry=maybe"}, nil, "", false, "invalid boolean value"},
		{"help", []string{"a", "-h"}, nil, "", false, flag.ErrHelp.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("x", "", "")
			out := fs.String("out", "", "")
			dry := fs.Bool("dry", false, "")
			paths, err := parseArgs(fs, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(paths) != fmt.Sprint(tc.wantPaths) || *out != tc.wantOut || *dry != tc.wantDry {
				t.Errorf("got %q out=%q dry=%v, want %q out=%q dry=%v", paths, *out, *dry, tc.wantPaths, tc.wantOut, tc.wantDry)
			}
		})
	}
}

// TestUsage runs the program as a user would ask it for help or get its
// arguments wrong: help exits 0 on stdout, a mistake exits 2 and says what
// was wrong.
func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"serve -h", []string{"serve", "-h"}, 0, "usage: ratchet-registry serve", ""},
		{"serve --help", []string{"serve", "--help"}, 0, "watch.poll_interval          1s", ""},
		{"help serve", []string{"help", "serve"}, 0, "usage: ratchet-registry serve", ""},
		{"help help", []string{"help", "help"}, 0, "usage: ratchet-registry help", ""},
		{"help nope", []string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{"top-level help", []string{"--help"}, 0, "--log-format text|json", ""},
		{"help lists commands", []string{"help"}, 0, "  validate  check tasks", ""},
		{"no command", nil, 2, "", "usage: ratchet-registry [--log-format text|json] COMMAND"},
		{"unknown command", []string{"nope"}, 2, "", `unknown command "nope"`},
		{"unknown global option", []string{"--nope", "serve"}, 2, "", "unknown option --nope"},
		{"index without --out", []string{"index", "examples"}, 2, "", "no --out: say which folder"},
		{"index with two paths", []string{"index", "a", "b", "--out", "o"}, 2, "", "one DIR at a time, got 2: a b"},
		{"index without DIR", []string{"index", "--out", "o"}, 2, "", "no DIR"},
		{"validate without paths", []string{"validate"}, 2, "", "no PATH"},
		{"lsp -h", []string{"lsp", "-h"}, 0, "usage: ratchet-registry lsp", ""},
		{"lsp with a path", []string{"lsp", "tasks"}, 2, "", "lsp takes no PATH"},
		{"lsp with a bad watch mode", []string{"lsp", "--watch", "inotify"}, 2, "", `--watch is "inotify"`},
		{"validate, flag after path", []string{"validate", "examples", "--bogus"}, 2, "", "unknown flag --bogus"},
		{"serve, unknown flag after path", []string{"serve", "examples", "--adr", "x"}, 2, "", "unknown flag --adr"},
		{"serve, bad watch mode", []string{"serve", "examples", "--watch", "inotify"}, 2, "", `--watch is \"inotify\": want auto, fsnotify, poll or off (watch.mode)`},
		{"serve, poll too fast", []string{"serve", "--poll-interval", "10ms", "examples"}, 2, "", `--poll-interval is 10ms: the minimum is 100ms (watch.poll_interval)`},
		{"serve, bad log format", []string{"serve", "--log-format", "xml", "x"}, 2, "", `is "xml": want text or json`},
		{"global log format, bad", []string{"--log-format", "xml", "serve", "x"}, 2, "", `is "xml": want text or json`},
		{"version", []string{"version"}, 0, "go:       " + runtime.Version(), ""},
		{"--version", []string{"--version"}, 0, "ratchet-registry ", ""},
		{"version with an argument", []string{"version", "x"}, 2, "", "version takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stdout.String(), tc.wantStdout) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q",
					code, stdout.String(), stderr.String(), tc.wantCode, tc.wantStdout, tc.wantStderr)
			}
			if tc.wantCode == 0 && stderr.Len() > 0 {
				t.Errorf("got stderr %q, want nothing there on success", stderr.String())
			}
		})
	}
}

// TestServeFlagsAfterPaths: the flags of serve work after its paths, the
// trap that bound 127.0.0.1:8080 and watched a folder named --addr.
func TestServeFlagsAfterPaths(t *testing.T) {
	p := start(t, "examples", "--watch", "poll", "--poll-interval", "200ms", "--log-format", "json")
	p.waitReady(t)
	if n := p.query(t, `{ registry { taskCount } }`)["registry"].(map[string]any)["taskCount"]; n != 4.0 {
		t.Errorf("got %v tasks, want the 4 examples", n)
	}
	if logs := p.logs.String(); !strings.Contains(logs, `"msg":"listening"`) || strings.Contains(logs, "--watch") {
		t.Errorf("want JSON logs and no source named after a flag, got:\n%s", logs)
	}
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := `ratchet_registry_watcher_mode{mode="poll",source="examples"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics do not say the source is polled: want %s in\n%s", want, metrics)
	}
}

func TestVersionText(t *testing.T) {
	tests := []struct {
		name     string
		settings []debug.BuildSetting
		want     []string
	}{
		{"stamped, clean", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-11-27T20:00:00Z"}, {Key: "vcs.modified", Value: "false"}},
			[]string{"commit:   abc123 (2026-11-27T20:00:00Z)", "modified: no"}},
		{"stamped, modified", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}},
			[]string{"commit:   abc123\n", "modified: yes, with uncommitted changes"}},
		{"-buildvcs=false", nil, []string{"commit:   unknown (built without VCS information", "modified: unknown"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := versionText(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: tc.settings})
			for _, w := range append(tc.want, "ratchet-registry v1.2.3\n", "go:       go1.26.0\n") {
				if !strings.Contains(got, w) {
					t.Errorf("got\n%s\nwant it to contain %q", got, w)
				}
			}
		})
	}
}
