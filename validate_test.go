package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		golden   string
		wantCode int
	}{
		{"examples are valid", []string{"examples"}, "validate-examples.golden", 0},
		{"broken catalogue", []string{"testdata/catalogue"}, "validate-catalogue.golden", 1},
		{"problems in test files are warnings", []string{"testdata/warnings"}, "validate-warnings.golden", 0},
		{"a path with files but no task", []string{"testdata/notask"}, "validate-notask.golden", 1},
		{"two paths, one missing", []string{"examples", "testdata/nope"}, "validate-missing.golden", 1},
		{"no paths", nil, "", 2},
		{"bad flag", []string{"--nope"}, "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(t.Context(), append([]string{"validate"}, tc.args...), &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("got exit %d, want %d; output:\n%s%s", code, tc.wantCode, out.String(), errOut.String())
			}
			if tc.golden == "" {
				return
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}
