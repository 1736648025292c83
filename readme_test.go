package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The documents: the README and one page per reader under docs/. Every
// fenced block in them is one of the kinds below, and TestDocsExamples
// (docs_examples_test.go, docs_http_test.go) checks each against the real
// program, so that the documents stay true:
//
//   - ```sh: commands as a reader types them. `go run .` and `curl` lines
//     are run, in order, in a scratch folder holding a copy of examples/
//     and testdata/ (`~` is a scratch home); `serve` starts the server that
//     the curl lines after it reach. git, cp, printf, sed and cat
//     lines run with sh, as written, and a curl after them waits until the
//     server has seen a change. Other programs (npm, go test, ...) are
//     shown only: the test checks that nothing of this program hides among
//     them.
//   - ```json right after a ```sh block that ends in a curl: the answer,
//     equal as JSON to the one the program gives. Any other ```json must
//     parse.
//   - ``` (no language) starting with `$ `: a transcript; each command's
//     output (stdout and stderr, log lines without their time) must be
//     exactly what is shown. Starting with `ratchet-registry `: a
//     synopsis, equal to the one `help` prints.
//   - ```yaml: a configuration, loaded as serve loads it, every source
//     made. One whose first line is `# NAME` is a file the next commands
//     use: it is written to the scratch folder instead.
//   - ```graphql: schema excerpts; every type, field, argument and enum
//     value named must be in the server's schema.
//   - ```js, ```lua, ```toml, ```xml: code or configuration of other
//     programs (a task's script, an editor's settings), shown only. There is
//     no language for output that is not checked.
//
// In shown output the scratch home is written `~`, and the test's OCI
// registry 127.0.0.1:5000.
//
// `go test -run TestDocs -update` rewrites the shown outputs, answers and
// the defaults table from the program: read the diff before committing it.

// docFiles lists the documents, README first.
func docFiles(tb testing.TB) []string {
	tb.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		tb.Fatal(err)
	}
	if len(pages) < 4 {
		tb.Fatalf("found %d documents under docs/, want one per reader: %v", len(pages), pages)
	}
	return append([]string{"README.md"}, pages...)
}

// A fence is one fenced block of a document.
type fence struct {
	file       string
	line       int    // of the opening ```
	lang       string // sh, json, yaml, graphql or ""
	text       string // without the fences and the indentation
	start, end int    // byte offsets of the raw content in the file
	indent     string
}

func (f fence) String() string { return fmt.Sprintf("%s:%d", f.file, f.line) }

func fences(tb testing.TB, file, text string) []fence {
	tb.Helper()
	var out []fence
	open := regexp.MustCompile("^( *)```([a-z]*)\n")
	off, line := 0, 1
	for off < len(text) {
		nl := strings.IndexByte(text[off:], '\n')
		if nl < 0 {
			break
		}
		m := open.FindStringSubmatch(text[off : off+nl+1])
		if m == nil {
			off, line = off+nl+1, line+1
			continue
		}
		f := fence{file: file, line: line, lang: m[2], indent: m[1], start: off + nl + 1}
		closing := "\n" + m[1] + "```\n"
		end := strings.Index(text[f.start-1:], closing)
		if end < 0 {
			tb.Fatalf("%s: the block never ends", f)
		}
		next := f.start - 1 + end + len(closing)
		f.end = max(f.start, f.start-1+end) // the content, without its last newline
		if f.end > f.start {
			var lines []string
			for _, l := range strings.Split(text[f.start:f.end], "\n") {
				lines = append(lines, strings.TrimPrefix(l, m[1]))
			}
			f.text = strings.Join(lines, "\n") + "\n"
		}
		out = append(out, f)
		line += strings.Count(text[off:next], "\n")
		off = next
	}
	return out
}

// TestDocsDefaults: the operators' table of defaults is the one in
// config.go. Run with -update to rewrite it.
func TestDocsDefaults(t *testing.T) {
	const file = "docs/operators.md"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	re := regexp.MustCompile(`(?s)(<!-- defaults:[^\n]*-->\n)(.*?)(<!-- /defaults -->)`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("%s has no <!-- defaults: --> section", file)
	}
	if *update {
		text = re.ReplaceAllLiteralString(text, m[1]+defaultsTable()+m[3])
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if m[2] != defaultsTable() {
		t.Errorf("%s's defaults differ from config.go's table (go test -run TestDocsDefaults -update rewrites them):\ngot\n%s\nwant\n%s", file, m[2], defaultsTable())
	}
}

// TestDocsReadmeShort: the README is the front page, not the manual.
func TestDocsReadmeShort(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if n := strings.Count(text, "\n"); n > 220 {
		t.Errorf("README.md has %d lines, want about 200 at most: move the detail into docs/", n)
	}
	for _, want := range []string{"```sh\ngo run . serve examples\n```", "```sh\ngo test -race -count=1 ./...\n```",
		"docs/authors.md", "docs/dashboards.md", "docs/operators.md", "docs/developers.md"} {
		if !strings.Contains(text, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	taskfile, err := os.ReadFile("Taskfile.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"go run . serve examples", "go test -race -count=1 ./..."} {
		if !strings.Contains(string(taskfile), "- "+cmd+"\n") {
			t.Errorf("Taskfile.yml no longer runs %q, which README.md shows as the way to run it", cmd)
		}
	}
}

// TestDocsCoverage: the README's table names every command and its list
// every example, the
// developers' layout every package folder, and their Taskfile table every
// target, so that none is added without its reader learning of it.
func TestDocsCoverage(t *testing.T) {
	read := func(file string) string {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	readme, dev := read("README.md"), read("docs/developers.md")
	for _, c := range commands() {
		if !strings.Contains(readme, "| `"+c.name+"` |") {
			t.Errorf("README.md's table of commands lacks %s", c.name)
		}
	}
	err := filepath.WalkDir(".", func(path string, e os.DirEntry, err error) error {
		if err != nil || !e.IsDir() || path == "." {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata" || e.Name() == "node_modules" || e.Name() == "web" {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(path, "*.go"))
		if len(files) > 0 && !strings.Contains(dev, "| `"+filepath.ToSlash(path)+"` |") {
			t.Errorf("docs/developers.md's layout lacks the package %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(readme, "`"+e.Name()+"`") {
			t.Errorf("README.md's list of examples lacks %s", e.Name())
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^  ([\w-]+):\n    desc:`).FindAllStringSubmatch(read("Taskfile.yml"), -1) {
		if !strings.Contains(dev, "| `"+m[1]+"` |") {
			t.Errorf("docs/developers.md's table of Taskfile targets lacks %s", m[1])
		}
	}
}

// TestDocsLinks: every relative link between the documents leads to a
// file that exists and, with a #fragment, to a heading in it.
func TestDocsLinks(t *testing.T) {
	anchors := map[string]map[string]bool{}
	heading := regexp.MustCompile(`(?m)^#+ (.+)$`)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	texts := map[string]string{}
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts[file] = string(data)
		anchors[file] = map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(withoutFences(string(data)), -1) {
			anchors[file][anchor(m[1])] = true
		}
	}
	for file, text := range texts {
		for _, m := range link.FindAllStringSubmatch(withoutFences(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Clean(filepath.Join(filepath.Dir(file), path))
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %s: %v", file, target, err)
					continue
				}
			}
			if frag != "" {
				if a, ok := anchors[dest]; !ok || !a[frag] {
					t.Errorf("%s: link %s: no heading #%s in %s", file, target, frag, dest)
				}
			}
		}
	}
}

// withoutFences blanks the fenced blocks, whose lines are not headings.
func withoutFences(text string) string {
	return regexp.MustCompile("(?ms)^ *```.*?^ *```$").ReplaceAllString(text, "")
}

// anchor is the fragment GitHub gives a heading.
func anchor(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsMetrics: every metric of the program's own that /metrics serves
// is in the operators' table.
func TestDocsMetrics(t *testing.T) {
	data, err := os.ReadFile("docs/operators.md")
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "examples")
	p.waitReady(t)
	suffix := regexp.MustCompile(`_(bucket|sum|count)$`)
	seen := map[string]bool{}
	for series := range scrape(t, p) {
		name, _, _ := strings.Cut(series, "{")
		if !strings.HasPrefix(name, "ratchet_registry_") {
			continue
		}
		if !strings.Contains(string(data), "`"+name+"`") {
			name = suffix.ReplaceAllString(name, "")
		}
		if !seen[name] && !strings.Contains(string(data), "`"+name+"`") {
			t.Errorf("docs/operators.md's table of metrics lacks %s", name)
		}
		seen[name] = true
	}
	if len(seen) < 5 {
		t.Errorf("found only %d metrics of the program's own: %v", len(seen), seen)
	}
}
