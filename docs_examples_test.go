package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"

	"github.com/ratchet-tasks/ratchet-registry/watcher/watchertest"
)

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
			// Settled first: a verdict arriving after the generation is
			// taken would pass for the change these commands make.
			d.settle()
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
	for _, e := range cfg.Registry.Sources {
		if _, err := e.Config.Open(0, cfg.sourceDeps(taskformat.NewLoader(), slog.New(slog.DiscardHandler))); err != nil {
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
