package taskformat

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/lru"
)

// Content reads the lazily loaded files of tasks, checks each against the
// digest taken at load, and keeps the most recently used within a budget.
type Content struct {
	cache *lru.Cache[[]byte] // by the content's digest
}

// NewContent keeps up to budget bytes of file content in memory, their
// keys and bookkeeping counted.
func NewContent(budget int64) *Content {
	return &Content{cache: lru.New[[]byte](budget, 0)}
}

// ErrChanged is wrapped when a file on disk no longer matches the task that
// the snapshot describes; the caller must not be given other content.
type ErrChanged struct {
	Path string
}

func (e *ErrChanged) Error() string {
	return fmt.Sprintf("%s changed on disk since the task was loaded; the new version is served after it reloads", e.Path)
}

// Read returns one lazily loaded file of a task: "main.js" or a test file.
func (c *Content) Read(t *registry.Task, name string) ([]byte, error) {
	f, ok := t.File(name)
	if !ok {
		return nil, fmt.Errorf("task %s %s has no file %s", t.ID, t.Version, name)
	}
	if data, ok := c.get(f.SHA256); ok {
		return data, nil
	}
	fsys, closer, err := t.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.Path, err)
	}
	defer closer.Close()
	data, err := readFile(fsys, name, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Path, err)
	}
	if sha256.Sum256(data) != f.SHA256 {
		return nil, &ErrChanged{Path: t.Path + "/" + name}
	}
	c.put(f.SHA256, data)
	return data, nil
}

// Script is the task's main.js.
func (c *Content) Script(t *registry.Task) (string, error) {
	data, err := c.Read(t, scriptFile)
	return string(data), err
}

// Tests reads every test case of a task, in name order, each with the
// problems found in it at load. A test file that could not be read at load
// is a case too, holding only its problem.
func (c *Content) Tests(t *registry.Task) ([]TestCase, error) {
	var out []TestCase
	for _, name := range CaseNames(t) {
		tc, err := c.TestCase(t, name)
		if err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, nil
}

// CaseNames are the names of a task's test cases, in name order: its test
// files, and those that could not be read at load. A verdict has one case
// for each.
func CaseNames(t *registry.Task) []string {
	names := t.TestFiles()
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, w := range t.Warnings {
		// A warning on metadata.json, or on the tests folder as a whole,
		// is no case.
		if !have[w.File] && isTestFile(w.File) && w.File != testsDir {
			have[w.File] = true
			names = append(names, w.File)
		}
	}
	slices.Sort(names)
	return names
}

// TestCase reads one test case of a task, named as CaseNames names it,
// with the problems found in it at load: a runner reads one case at a
// time, so that a task of many large test files is never held at once.
func (c *Content) TestCase(t *registry.Task, name string) (TestCase, error) {
	var problems []*registry.LoadError
	for _, w := range t.Warnings {
		if w.File == name {
			problems = append(problems, w)
		}
	}
	tc := TestCase{Name: name}
	tc.Problems, tc.Advice = splitAdvice(problems)
	if _, ok := t.File(name); !ok {
		return tc, nil // unreadable at load: only its problems
	}
	data, err := c.Read(t, name)
	if err != nil {
		return TestCase{}, err
	}
	if len(problems) == 0 || json.Valid(data) {
		ignore := func(registry.Kind, int, error) {}
		tc = parseTestCase(name, data, nil, ignore, ignore)
		tc.Problems, tc.Advice = splitAdvice(problems)
	}
	return tc, nil
}

func (c *Content) get(key [32]byte) ([]byte, bool) { return c.cache.Get(string(key[:])) }

// put keys content by its digest, so identical files of different tasks
// share one copy.
func (c *Content) put(key [32]byte, data []byte) {
	c.cache.Update(string(key[:]), func(old []byte, ok bool) ([]byte, int64, bool) {
		return data, int64(len(data)), !ok // the same digest: the same bytes, kept already
	})
}
