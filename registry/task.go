package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Task is one version of one task as loaded. It is never changed after it
// is built: a stale copy is a new value.
type Task struct {
	ID          string // canonical lowercase UUID
	Version     string
	Label       string
	Description string
	Tags        []string // metadata.json's optional "tags"

	Source string // name of the source it came from
	Root   string // task root key inside the source, slash-separated ("." when the source is the task)
	Path   string // display path of the task root: "tasks/add", "tasks/calc.zip"
	Digest string // "sha256:<hex>" over every file of the task
	// TestDigest covers only what the tests depend on: the script, the
	// schemas and the test files. A verdict is kept by it, so that an edit
	// to the description runs nothing again.
	TestDigest string

	Metadata     json.RawMessage // metadata.json as written, unknown fields included
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage

	// Stale is true when the task's files are broken now and this is the
	// last version that loaded; Error says what is wrong with them.
	Stale bool
	Error *LoadError

	// Warnings are the problems in its test files (bad JSON, an input the
	// input schema rejects, an unknown key) and advice on metadata.json:
	// each test-file problem that is not Advice makes its case an ERROR
	// when tests run, and none keeps the task out of the catalogue.
	Warnings []*LoadError

	sep    string // between Path and a file's name: a separator, or "!/" and the folder inside a zip
	semver *semver.Version
	order  int    // position of the source in configuration order
	open   Opener // where to read lazy content from
	files  []File // main.js and tests, read lazily, in name order after main.js
}

// File describes a lazily read file of a task: its digest is taken at load
// and checked whenever the content is read again.
type File struct {
	Name   string // relative to the task root: "main.js", "tests/basic.json"
	Size   int64
	SHA256 [32]byte
}

// FilePath is where one of the task's files is, as a user would open it:
// "tasks/add/tests/a.json", "tasks/add.zip!/add/tests/a.json".
func (t *Task) FilePath(name string) string {
	if t.sep == "/" || t.sep == "\\" {
		name = filepath.FromSlash(name)
	}
	return t.Path + t.sep + name
}

// Files lists the lazily read files: main.js then the tests in name order.
func (t *Task) Files() []File { return append([]File(nil), t.files...) }

// TestFiles are the names of the task's test cases, in name order.
func (t *Task) TestFiles() []string {
	var out []string
	for _, f := range t.files {
		if f.Name != scriptFile {
			out = append(out, f.Name)
		}
	}
	return out
}

func (t *Task) file(name string) (File, bool) {
	// A search rather than a map: a map of two files is a few hundred
	// bytes a task, and a task has a handful of files.
	for _, f := range t.files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// withError returns the stale copy served while the task's files are broken.
func (t *Task) withError(err *LoadError) *Task {
	c := *t
	c.Stale = true
	c.Error = err
	return &c
}

// sameAs reports whether serving n instead of t would change nothing.
func (t *Task) sameAs(n *Task) bool {
	if t == nil || n == nil {
		return t == n
	}
	if t.Digest != n.Digest || t.Stale != n.Stale || t.Path != n.Path || t.Source != n.Source {
		return false
	}
	if (t.Error == nil) != (n.Error == nil) {
		return false
	}
	return t.Error == nil || t.Error.same(n.Error)
}

// archive is true for a task read from inside a zip (or a bundle).
func (t *Task) archive() bool { return strings.HasPrefix(t.sep, "!/") }

// identity is the pair that makes a task version unique in the catalogue.
func (t *Task) identity() string { return t.ID + "@" + t.Version }

// testDigest is digestFiles over the files a verdict depends on.
func testDigest(sums map[string][32]byte) string {
	deps := make(map[string][32]byte, len(sums))
	for n, s := range sums {
		if n == scriptFile || n == inputSchema || n == outputSchema || strings.HasPrefix(n, testsDir+"/") {
			deps[n] = s
		}
	}
	return digestFiles(deps)
}

// digestFiles hashes names and contents so that a rename changes the
// digest as well as an edit does.
func digestFiles(sums map[string][32]byte) string {
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		s := sums[n]
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(s[:])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
