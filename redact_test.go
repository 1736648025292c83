package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// TestSourceURLsRedacted: a password in a source's URL never shows, in
// the configuration's errors nor in a source's, even when the URL does not
// parse (its parser's error quotes it).
func TestSourceURLsRedacted(t *testing.T) {
	const secret = "s3cretPW"
	tests := []struct {
		name string
		src  string // an entry of registry.sources
	}{
		{"git, a port that is not a number", "{type: git, url: 'https://user:" + secret + "@host:port/x.git'}"},
		{"git, an unknown scheme", "{type: git, url: 'ftp://user:" + secret + "@host/x.git'}"},
		{"git, ssh with a bad port", "{type: git, url: 'ssh://git:" + secret + "@host:port/x.git', ssh_key: /nonexistent}"},
		{"http, not http", "{type: http, url: 'ftp://user:" + secret + "@host/v1'}"},
		{"http, a bad port", "{type: http, url: 'https://user:" + secret + "@host:port/v1'}"},
		{"oci, userinfo in the ref", "{type: oci, ref: 'user:" + secret + "@registry.example/repo:tag'}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "c.yaml")
			yaml := "registry:\n  cache_dir: " + dir + "\n  sources:\n    - " + tc.src + "\n"
			if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var msgs []string
			cfg, err := loadConfig(path)
			if err != nil {
				msgs = append(msgs, err.Error())
			}
			entry := cfg.Registry.Sources[0]
			src, err := entry.Config.Open(0, cfg.sourceDeps(taskformat.NewLoader(), slog.New(slog.NewTextHandler(io.Discard, nil))))
			if err != nil {
				name, location := entry.Config.Shown()
				msgs = append(msgs, name, location)
				msgs = append(msgs, err.Error())
			} else {
				msgs = append(msgs, src.Name(), src.Location())
			}
			if len(msgs) == 0 {
				t.Fatal("no error from the configuration nor from the source")
			}
			for _, m := range msgs {
				if strings.Contains(m, secret) {
					t.Errorf("got %q: it shows the password", m)
				}
			}
		})
	}
}
