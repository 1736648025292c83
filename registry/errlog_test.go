package registry

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestLoadErrorLog: a position is logged where there is one, and left out
// where there is none, rather than logged as line=0 column=0.
func TestLoadErrorLog(t *testing.T) {
	tests := []struct {
		name string
		err  LoadError
		want string
	}{
		{"line and column", LoadError{Source: "s", Path: "a/main.js", Line: 2, Column: 30, Kind: KindSyntax, Err: errors.New("bad")},
			`source=s path=a/main.js line=2 column=30 kind=SYNTAX error=bad`},
		{"line only", LoadError{Source: "s", Path: "a/x.json", Line: 4, Kind: KindInvalid, Err: errors.New("bad")},
			`source=s path=a/x.json line=4 kind=INVALID error=bad`},
		{"no position", LoadError{Source: "s", Path: "a", Kind: KindMissing, Err: errors.New("no main.js")},
			`source=s path=a kind=MISSING error="no main.js"`},
		{"a library's panic", LoadError{Source: "s", Path: "a/input.schema.json", Kind: KindSchema, Err: &PanicError{Op: "compile", Value: "boom", Stack: []byte("jsonschema.go:9")}},
			`source=s path=a/input.schema.json kind=SCHEMA error="compile: the library doing it crashed on this file (boom); the file is refused" stack=jsonschema.go:9`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
					return slog.Attr{}
				}
				return a
			}})).Warn("load error", tc.err.logAttrs()...)
			if got := strings.TrimSpace(b.String()); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
