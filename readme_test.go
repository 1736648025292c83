package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

// The documents: the README and one page per reader under docs/. Every
// fenced block in them is one of the kinds below, and this file checks
// each against the real program, so that the documents stay true:
//
//   - ```sh: commands as a reader types them. `go run .` and `curl` lines
//     are run, in order, in a scratch folder holding a copy of examples/
//     and testdata/ (`~` is a scratch home); `serve` starts the server that
//     the curl lines after it reach. Other programs (git, npm, go test,
//     ...) are shown only: the test checks that nothing of this program
//     hides among them. git, cp, printf, sed and cat run with sh, as written;
//     a curl after them waits until the server has seen a change.
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

// TestDocsExamples runs every example of every document as the comment
// at the top of this file says.
func TestDocsExamples(t *testing.T) {
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	files := docFiles(t)
	reg := startOCIRegistry(t) // the registry the operators' examples push to
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repo, file))
			if err != nil {
				t.Fatal(err)
			}
			d := &docRun{t: t, repo: repo, text: string(data),
				rewrite: strings.NewReplacer(shownRegistry, reg.addr), registry: reg.addr}
			d.setUp()
			fs := fences(t, file, d.text)
			for i, f := range fs {
				switch f.lang {
				case "sh":
					d.commands(f)
				case "json":
					d.json(f, i > 0 && fs[i-1].lang == "sh" && answerGap.MatchString(d.text[fs[i-1].end:f.start]))
				case "yaml":
					d.yaml(f)
				case "graphql":
					d.graphql(f)
				case "":
					d.plain(f)
				case "js", "lua", "toml", "xml":
				default:
					t.Errorf("%s: a block of %q, which this test cannot check: use sh, json, yaml, graphql or none", f, f.lang)
				}
			}
			if *update && len(d.edits) > 0 {
				if err := os.WriteFile(filepath.Join(repo, file), []byte(applyEdits(d.text, d.edits)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// answerGap is what stands between a curl's block and its answer's: the
// two fences and nothing else.
var answerGap = regexp.MustCompile("^\n *```\n\n *```json\n$")

// docRun is the state of one document's examples, as a reader typing
// them in order has it: a folder, a home, the server last started.
type docRun struct {
	t        *testing.T
	repo     string
	text     string
	rewrite  *strings.Replacer // addresses of the examples to those of the test
	registry string            // the test's OCI registry, shown as shownRegistry
	home     string
	server   *program
	answer   string // the last curl's body, for a ```json block after it
	edits    []edit // -update: shown outputs to replace, in order
	schema   *schemaIndex
	changed  bool  // a shell command ran since the server last answered: it may have changed files the server serves
	seen     int64 // the server's generation before that command
}

type edit struct {
	f    fence
	text string
}

func (d *docRun) setUp() {
	t := d.t
	dir := t.TempDir()
	copyTree(t, filepath.Join(d.repo, "examples"), filepath.Join(dir, "examples"))
	copyTree(t, filepath.Join(d.repo, "testdata"), filepath.Join(dir, "testdata"))
	d.home = t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", d.home)
}

// replace records a block's new content for -update, applied once the
// whole document has run.
func (d *docRun) replace(f fence, text string) {
	d.edits = append(d.edits, edit{f: f, text: text})
}

// applyEdits writes the recorded contents into text, keeping each block's
// indentation.
func applyEdits(text string, edits []edit) string {
	sort.Slice(edits, func(i, j int) bool { return edits[i].f.start > edits[j].f.start })
	for _, e := range edits {
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(e.text, "\n"), "\n") {
			if l != "" {
				l = e.f.indent + l
			}
			lines = append(lines, l)
		}
		text = text[:e.f.start] + strings.Join(lines, "\n") + text[e.f.end:]
	}
	return text
}

// commands runs a ```sh block's commands in order.
func (d *docRun) commands(f fence) {
	d.answer = ""
	for _, cmd := range shellLines(f.text) {
		for _, part := range splitAnd(cmd) {
			d.answer = ""
			if out, ok := d.runOne(f, part, true); ok {
				d.answer = out
			}
		}
	}
}

// shellLines joins continued lines and drops comments and blank lines.
func shellLines(text string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, `\`) {
			cur.WriteString(strings.TrimSuffix(l, `\`))
			continue
		}
		cur.WriteString(l)
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s != "" && !strings.HasPrefix(s, "#") {
			out = append(out, s)
		}
	}
	return out
}

// splitAnd splits a command line at && outside quotes.
func splitAnd(s string) []string {
	var out []string
	quote := byte(0)
	last := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case strings.HasPrefix(s[i:], "&&"):
			out = append(out, strings.TrimSpace(s[last:i]))
			last = i + 2
			i++
		}
	}
	return append(out, strings.TrimSpace(s[last:]))
}

// shownOnly are the commands the documents show without this test running
// them: servers of other programs, installers, the Go toolchain's own
// commands (optionally after VAR=value).
var shownOnly = regexp.MustCompile(`^(\w+=\S+ )*\(?(npm|apt-get|python3|sleep|mkdir|cd|sysctl|go (test|tool|build|run github\.com/))\b`)

// byShell are the commands that the test runs with sh, as written, in the
// scratch folder with its home: they prepare what the program's commands
// after them read.
var byShell = regexp.MustCompile(`^(git|cp|printf|sed|cat) `)

// runOne runs one command; for a curl it returns the body. strict: a
// command of this program must succeed (exit 0).
func (d *docRun) runOne(f fence, cmd string, strict bool) (string, bool) {
	t := d.t
	switch {
	case strings.HasPrefix(cmd, "go run . "):
		words := d.words(f, strings.TrimPrefix(cmd, "go run . "))
		if len(words) > 0 && words[0] == "serve" {
			d.serve(f, words[1:])
			return "", false
		}
		out, code := d.program(words)
		if strict && code != 0 {
			t.Errorf("%s: %s: exit %d\n%s", f, cmd, code, out)
		}
		return out, false
	case strings.HasPrefix(cmd, "curl "):
		return d.curl(f, cmd), true
	case byShell.MatchString(cmd):
		if d.server != nil && !d.changed {
			d.server.waitReady(t)
			d.changed, d.seen = true, d.generation()
		}
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %s: %v\n%s", f, cmd, err, out)
		}
		return string(out), false
	case shownOnly.MatchString(cmd) && !strings.Contains(cmd, "go run . "):
		return "", false
	default:
		t.Errorf("%s: %q is neither `go run .`, curl, nor a tool this test knows to leave alone: teach the test to run it", f, cmd)
		return "", false
	}
}

// words splits a command as sh would, for the quoting the documents use,
// with `~` the scratch home and the examples' addresses the test's.
func (d *docRun) words(f fence, s string) []string {
	var words []string
	for _, m := range regexp.MustCompile(`'([^']*)'|"([^"\\$`+"`"+`]*)"|(\S+)`).FindAllStringSubmatch(s, -1) {
		w := m[1] + m[2] + m[3]
		if m[3] != "" {
			if strings.ContainsAny(m[3], `'"\$|&;<>`+"`") {
				d.t.Errorf("%s: %q needs a real shell", f, s)
			}
			if strings.HasPrefix(w, "~/") {
				w = filepath.Join(d.home, w[2:])
			}
		}
		words = append(words, d.rewrite.Replace(w))
	}
	return words
}

// program runs the program in this process with words, its stdout and
// stderr together as a terminal shows them.
func (d *docRun) program(words []string) (string, int) {
	var out watchertest.Log
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, words, &out, &out)
	return out.String(), code
}

// serve starts the server a `go run . serve` line starts, on a port of
// its own, stopping the one before.
func (d *docRun) serve(f fence, args []string) {
	if d.server != nil {
		d.server.stop(d.t)
	}
	d.server = start(d.t, args...)
	d.changed = false
	if slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "config") }) {
		return // it may follow sources that are not there: listening is enough
	}
	d.settle()
}

// settle waits until the server has loaded and every verdict is in, so
// that an answer is the same on every run.
func (d *docRun) settle() {
	d.server.waitReady(d.t)
	eventually(d.t, time.Minute, func() bool {
		out := d.server.raw(d.t, `{ tasks(filter: {verdict: PENDING}) { id } }`)
		data, _ := out["data"].(map[string]any)
		tasks, _ := data["tasks"].([]any)
		return data != nil && len(tasks) == 0
	})
}

// generation is the server's snapshot generation.
func (d *docRun) generation() int64 {
	reg, _ := d.server.query(d.t, `{ registry { generation } }`)["registry"].(map[string]any)
	g, _ := reg["generation"].(float64)
	return int64(g)
}

// curl does what curl does with the options the documents use: -s, -i,
// -I, -N, -H, -d, -X, and a pipe into head -N or grep -i WORD.
func (d *docRun) curl(f fence, cmd string) string {
	t := d.t
	if d.server == nil {
		d.server = start(t, "examples")
		d.settle()
	}
	if d.changed {
		// The commands before changed what the server serves: a reader
		// asks once it has seen the change, as a reader waits a moment.
		eventually(t, time.Minute, func() bool { return d.generation() > d.seen })
		d.settle()
		d.changed = false
	}
	pipe := ""
	if i := strings.LastIndex(cmd, " | "); i >= 0 && !strings.Contains(cmd[i:], "'") {
		cmd, pipe = cmd[:i], strings.TrimSpace(cmd[i+3:])
	}
	words := d.words(f, strings.TrimPrefix(cmd, "curl "))
	var (
		method, url, body string
		headers           []string
		include, head     bool
	)
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-H" || w == "-d" || w == "-X":
			if i+1 == len(words) {
				t.Fatalf("%s: %s needs a value", f, w)
			}
			i++
			switch w {
			case "-H":
				headers = append(headers, words[i])
			case "-d":
				body = words[i]
			case "-X":
				method = words[i]
			}
		case strings.HasPrefix(w, "-") && strings.Trim(w, "-siNI") == "":
			include = include || strings.ContainsAny(w, "iI")
			head = head || strings.Contains(w, "I")
		case !strings.HasPrefix(w, "-"):
			url = regexp.MustCompile(`^(https?://)?(127\.0\.0\.1|localhost):8080`).ReplaceAllString(w, d.server.url)
		default:
			t.Fatalf("%s: curl option %s: teach this test what it does", f, w)
		}
	}
	if method == "" {
		method = map[bool]string{true: "POST", false: "GET"}[body != ""]
		if head {
			method = "HEAD"
		}
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // curl's, unless -H says otherwise
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %s: %v", f, cmd, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if include {
		fmt.Fprintf(&out, "%s %s\r\n", resp.Proto, resp.Status)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(&out, "%s: %s\r\n", k, v)
			}
		}
		out.WriteString("\r\n")
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// A stream does not end: its first line shows that it is one.
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		out.WriteString(line)
	} else if _, err := io.Copy(&out, io.LimitReader(resp.Body, 64<<20)); err != nil {
		t.Fatalf("%s: %s: %v", f, cmd, err)
	}
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	switch {
	case pipe == "":
	case regexp.MustCompile(`^head -[0-9]+$`).MatchString(pipe):
		var n int
		fmt.Sscanf(pipe, "head -%d", &n)
		lines := strings.SplitAfter(text, "\n")
		text = strings.Join(lines[:min(n, len(lines))], "")
	case strings.HasPrefix(pipe, "grep -i "):
		var kept []string
		word := strings.ToLower(strings.TrimPrefix(pipe, "grep -i "))
		for _, l := range strings.SplitAfter(text, "\n") {
			if strings.Contains(strings.ToLower(l), word) {
				kept = append(kept, l)
			}
		}
		text = strings.Join(kept, "")
	default:
		t.Fatalf("%s: | %s: teach this test what it does", f, pipe)
	}
	return text
}

// json checks an answer against the curl before it, or that an example
// of a format parses.
func (d *docRun) json(f fence, afterBlock bool) {
	t := d.t
	if !afterBlock || d.answer == "" {
		if !json.Valid([]byte(f.text)) {
			t.Errorf("%s: not valid JSON", f)
		}
		return
	}
	got := strings.TrimSpace(d.answer)
	var a, b any
	if err := json.Unmarshal([]byte(got), &a); err != nil {
		t.Errorf("%s: the program answered with something that is not JSON: %v\n%s", f, err, got)
		return
	}
	if err := json.Unmarshal([]byte(f.text), &b); err != nil || !jsonEqual(a, b) {
		if *update {
			d.replace(f, got)
			return
		}
		t.Errorf("%s: the program answers\n%s\nnot what is shown (-update rewrites it):\n%s", f, got, f.text)
	}
	d.answer = ""
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// yaml checks a configuration, or writes a named file for the commands
// after it.
func (d *docRun) yaml(f fence) {
	t := d.t
	first, _, _ := strings.Cut(f.text, "\n")
	if name, ok := strings.CutPrefix(first, "# "); ok && regexp.MustCompile(`^[\w.-]+\.ya?ml$`).MatchString(name) {
		if err := os.WriteFile(name, []byte(d.rewrite.Replace(f.text)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	// A reader sets the variables that hold credentials before serving.
	for _, m := range regexp.MustCompile(`(?m)^\s*\w+_env: (\w+)`).FindAllStringSubmatch(f.text, -1) {
		t.Setenv(m[1], "secret")
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(f.text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkConfig(t, p); err != nil {
		t.Errorf("%s: %v\n%s", f, err, f.text)
	}
}

// checkConfig loads a configuration as serve does and makes each of its
// sources, without starting them.
func checkConfig(tb testing.TB, path string) error {
	tb.Helper()
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	if cfg.Registry.CacheDir == "" {
		cfg.Registry.CacheDir = tb.TempDir() // not the user's cache folder
	}
	for _, sc := range cfg.Registry.Sources {
		if _, err := newSource(sc, 0, cfg, slog.New(slog.DiscardHandler)); err != nil {
			return err
		}
	}
	return nil
}

// plain checks a transcript or a synopsis.
func (d *docRun) plain(f fence) {
	t := d.t
	switch {
	case strings.HasPrefix(f.text, "$ "):
		d.transcript(f)
	case strings.HasPrefix(f.text, "ratchet-registry "):
		synopsis := strings.TrimSpace(f.text)
		words := strings.Fields(synopsis)
		args := []string{"--help"}
		if len(words) > 1 && !strings.HasPrefix(words[1], "[") {
			args = []string{"help", words[1]}
		}
		out, _ := d.program(args)
		first, _, _ := strings.Cut(out, "\n")
		if want := strings.TrimPrefix(first, "usage: "); want != synopsis {
			t.Errorf("%s: synopsis\n%s\nbut the program says\n%s", f, synopsis, want)
		}
	default:
		t.Errorf("%s: a block with no language must be a transcript ($ COMMAND, then its output) or a synopsis (ratchet-registry ...)", f)
	}
}

// logTime matches the time of a log line, which a transcript leaves out.
var logTime = regexp.MustCompile(`(?m)^time=\S+ `)

// transcript runs each `$ COMMAND` and compares its output with the lines
// shown after it.
func (d *docRun) transcript(f fence) {
	t := d.t
	type step struct {
		cmd  string
		want []string
	}
	var steps []step
	lines := strings.Split(strings.TrimSuffix(f.text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if cmd, ok := strings.CutPrefix(l, "$ "); ok {
			for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
				i++
				cmd = strings.TrimSuffix(cmd, `\`) + lines[i]
			}
			steps = append(steps, step{cmd: cmd})
			continue
		}
		steps[len(steps)-1].want = append(steps[len(steps)-1].want, l)
	}
	var shown strings.Builder
	for _, s := range steps {
		var got string
		switch {
		case strings.HasPrefix(s.cmd, "go run . serve"):
			// a serve that exits at once (a bad configuration): run it whole
			got, _ = d.program(d.words(f, strings.TrimPrefix(s.cmd, "go run . ")))
		default:
			got, _ = d.runOne(f, s.cmd, false)
		}
		got = logTime.ReplaceAllString(got, "")
		got = strings.ReplaceAll(got, strings.TrimSuffix(d.home, "/"), "~")
		got = d.unrewrite(got)
		want := strings.Join(s.want, "\n")
		if len(s.want) > 0 {
			want += "\n"
		}
		if got != want && !*update {
			t.Errorf("%s: $ %s\ngives\n%q\nnot what is shown (-update rewrites it):\n%q", f, s.cmd, got, want)
		}
		fmt.Fprintf(&shown, "$ %s\n%s", s.cmd, got)
	}
	if *update && shown.String() != f.text {
		d.replace(f, shown.String())
	}
}

// unrewrite gives the test's addresses back their shown names.
func (d *docRun) unrewrite(s string) string {
	return strings.ReplaceAll(s, d.registry, shownRegistry)
}

// shownRegistry is the OCI registry's address in the examples.
const shownRegistry = "127.0.0.1:5000"

// graphql checks that a schema excerpt names only what the schema has.
func (d *docRun) graphql(f fence) {
	t := d.t
	if d.schema == nil {
		if d.server == nil {
			d.server = start(t, "examples")
			d.settle()
		}
		d.schema = introspect(t, d.server)
	}
	decl := regexp.MustCompile(`(?s)\b(type|input|enum)\s+(\w+)\s*\{(.*?)\}`)
	ms := decl.FindAllStringSubmatch(stripComments(f.text), -1)
	if len(ms) == 0 {
		t.Errorf("%s: no type, input or enum in a graphql block", f)
	}
	for _, m := range ms {
		kind, name, body := m[1], m[2], m[3]
		members, ok := d.schema.types[name]
		if !ok {
			t.Errorf("%s: %s %s is not in the schema", f, kind, name)
			continue
		}
		var shown []string
		if kind == "enum" {
			shown = regexp.MustCompile(`\w+`).FindAllString(body, -1)
		} else {
			args := regexp.MustCompile(`\(([^)]*)\)`)
			for _, fm := range regexp.MustCompile(`(\w+)\s*(\([^)]*\))?\s*:`).FindAllStringSubmatch(body, -1) {
				shown = append(shown, fm[1])
				for _, am := range args.FindAllStringSubmatch(fm[2], -1) {
					for _, a := range regexp.MustCompile(`(\w+)\s*:`).FindAllStringSubmatch(am[1], -1) {
						shown = append(shown, fm[1]+"("+a[1]+")")
					}
				}
			}
		}
		for _, s := range shown {
			if !members[s] {
				t.Errorf("%s: %s.%s is not in the schema", f, name, s)
			}
		}
	}
}

func stripComments(s string) string {
	return regexp.MustCompile(`#[^\n]*`).ReplaceAllString(s, "")
}

// schemaIndex holds, for each type of the schema, its fields and their
// arguments (as field(arg)), input fields or enum values.
type schemaIndex struct{ types map[string]map[string]bool }

func introspect(tb testing.TB, p *program) *schemaIndex {
	tb.Helper()
	data := p.query(tb, `{ __schema { types { name fields { name args { name } } inputFields { name } enumValues { name } } } }`)
	raw, _ := json.Marshal(data)
	var s struct {
		Schema struct {
			Types []struct {
				Name   string
				Fields []struct {
					Name string
					Args []struct{ Name string }
				}
				InputFields []struct{ Name string }
				EnumValues  []struct{ Name string }
			}
		} `json:"__schema"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatal(err)
	}
	idx := &schemaIndex{types: map[string]map[string]bool{}}
	for _, ty := range s.Schema.Types {
		m := map[string]bool{}
		for _, f := range ty.Fields {
			m[f.Name] = true
			for _, a := range f.Args {
				m[f.Name+"("+a.Name+")"] = true
			}
		}
		for _, f := range ty.InputFields {
			m[f.Name] = true
		}
		for _, v := range ty.EnumValues {
			m[v.Name] = true
		}
		idx.types[ty.Name] = m
	}
	return idx
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
