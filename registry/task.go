package registry

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
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
	files  []File // the script then the tests, read lazily, in name order after the script
}

// Opener gives a task's files again, long after the load, for lazy
// content (the script and tests are read when first asked for, and checked
// against the digest taken at load), and what to close when done with them.
type Opener func() (fs.FS, io.Closer, error)

// Stored is what a loader knows of a task beyond its exported fields:
// where it sits and how to read its lazily read files again.
type Stored struct {
	Order  int    // position of the source in configuration order, which decides conflicts
	Sep    string // between Path and a file's name: a separator, or "!/" and the folder inside a zip
	Open   Opener
	Script File   // the task's JavaScript
	Tests  []File // its test files, in name order
}

// NewTask completes a task that a loader has read and checked. Its
// version must be SemVer (see ParseVersion): the order of versions is the
// domain's, so it is taken here.
func NewTask(t Task, st Stored) (*Task, error) {
	v, err := ParseVersion(t.Version)
	if err != nil {
		return nil, err
	}
	if st.Open == nil {
		return nil, errors.New("a task needs an Opener for its lazily read files")
	}
	t.semver, t.order, t.sep, t.open = v, st.Order, st.Sep, st.Open
	t.files = append([]File{st.Script}, st.Tests...)
	return &t, nil
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
	for _, f := range t.files[min(1, len(t.files)):] {
		out = append(out, f.Name)
	}
	return out
}

// Open gives the task's files again, to read one that is read lazily.
func (t *Task) Open() (fs.FS, io.Closer, error) { return t.open() }

// File describes one of the lazily read files, by its name relative to
// the task root.
func (t *Task) File(name string) (File, bool) {
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
