package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func readme(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// TestREADMEDefaults: the README's table of defaults is the one in
// config.go. Run with -update to rewrite it.
func TestREADMEDefaults(t *testing.T) {
	text := readme(t)
	re := regexp.MustCompile(`(?s)(<!-- defaults:[^\n]*-->\n)(.*?)(<!-- /defaults -->)`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatal("README.md has no <!-- defaults: --> section")
	}
	if *update {
		text = re.ReplaceAllLiteralString(text, m[1]+defaultsTable()+m[3])
		if err := os.WriteFile("README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if m[2] != defaultsTable() {
		t.Errorf("README.md's defaults differ from config.go's table (go test -run TestREADMEDefaults -update rewrites them):\ngot\n%s\nwant\n%s", m[2], defaultsTable())
	}
}

// TestREADMEExamples runs, as written, every `go run .` line of the
// README's sections on writing tasks, editors and the command line, in a
// scratch folder, in order, as a reader would type them.
func TestREADMEExamples(t *testing.T) {
	text := readme(t)
	var lines []string
	for _, section := range []string{"## Write a task", "## Editor support", "## The command line"} {
		start := strings.Index(text, section+"\n")
		if start < 0 {
			t.Fatalf("README.md has no section %q", section)
		}
		body := text[start+len(section):]
		if end := strings.Index(body, "\n## "); end >= 0 {
			body = body[:end]
		}
		for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(body, -1) {
			lines = append(lines, strings.Split(strings.TrimSpace(block[1]), "\n")...)
		}
	}
	if len(lines) < 6 {
		t.Fatalf("found only %d examples: %q", len(lines), lines)
	}
	t.Chdir(t.TempDir())
	for _, line := range lines {
		args, ok := strings.CutPrefix(line, "go run . ")
		if !ok {
			t.Fatalf("example %q is not a `go run .` command: teach this test to run it", line)
		}
		var stdout, stderr strings.Builder
		if code := run(t.Context(), shellWords(t, args), &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d\n%s%s", line, code, stdout.String(), stderr.String())
		}
		if strings.Contains(line, " validate ") && !strings.Contains(stdout.String(), "; 0 problems") {
			t.Errorf("%s:\n%s\nwant 0 problems", line, stdout.String())
		}
	}
}

// shellWords splits a command line as sh would for the plain words and
// double-quoted strings the README uses.
func shellWords(tb testing.TB, s string) []string {
	tb.Helper()
	var words []string
	for _, m := range regexp.MustCompile(`"([^"\\$`+"`"+`]*)"|(\S+)`).FindAllStringSubmatch(s, -1) {
		if strings.ContainsAny(m[2], `'"\$|&;<>`+"`") {
			tb.Fatalf("%q needs a real shell", s)
		}
		words = append(words, m[1]+m[2])
	}
	return words
}
