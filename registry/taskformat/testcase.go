package taskformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// TestCase is one tests/*.json of a task as the runner needs it. A file
// that cannot be used is still a case, with its Problems, so that it shows
// as an ERROR instead of disappearing.
type TestCase struct {
	Name           string                // the file, like "tests/basic.json"
	Input          json.RawMessage       // nil when the file gives none
	ExpectedOutput json.RawMessage       // expected_output, or upstream's synonym expected; nil: not compared
	ShouldFail     bool                  // the case passes when the task throws
	ExpectedError  string                // the thrown error's name or message must contain it (implies ShouldFail)
	Mock           json.RawMessage       // the "mock" object as written; nil when absent
	Problems       []*registry.LoadError // warnings found at load that keep it from running: a case with any is an ERROR with their message
	Advice         []*registry.LoadError // warnings found at load that leave it running (an unknown key, no input)
}

// testKeys are the keys a test file may hold. Any other is reported, since
// a misspelt "expected_ouput" would otherwise make a test that checks
// nothing.
var testKeys = []string{"input", "expected_output", "expected", "should_fail", "expected_error", "mock", "description", "name"}

// upstreamKeys are keys that upstream Ratchet's own test files hold and
// this runner does not read, each with what to write instead.
var upstreamKeys = map[string]string{
	"should_succeed": `: did you mean "should_fail"? ("should_succeed": false is "should_fail": true)`,
	"assertions":     `: did you mean "expected_output"? (the whole output is compared with it)`,
	"mock_http":      `: did you mean "mock": {"http": ...}?`,
}

// testFile is the shape of tests/*.json, upstream's later keys included.
type testFile struct {
	Input          json.RawMessage `json:"input"`
	ExpectedOutput json.RawMessage `json:"expected_output"`
	Expected       json.RawMessage `json:"expected"`
	ShouldFail     json.RawMessage `json:"should_fail"`
	ExpectedError  json.RawMessage `json:"expected_error"`
	Mock           json.RawMessage `json:"mock"`
}

// MaxTestBytes bounds the bytes of one task's test files that a load
// reads. Every load of a task reads all of them (the language server loads
// at every keystroke in the task), and checking one costs some times its
// size: without it, a task of 5 MiB test files costs in proportion to how
// many it has.
const MaxTestBytes = 64 << 20

// warnFunc reports a problem of a test file at a byte offset.
type warnFunc func(kind registry.Kind, off int, err error)

// parseTestCase turns a test file that is a JSON object into a case and
// the problems with its shape: warn reports those that keep the case from
// running, advise those that leave it running. keys are the file's keys
// as objectKeys lists them, each not in testKeys advised of (nil: none).
func parseTestCase(name string, data []byte, keys []jsonKey, warn, advise warnFunc) TestCase {
	tc := TestCase{Name: name}
	var tf testFile
	if err := json.Unmarshal(data, &tf); err != nil {
		warn(registry.KindInvalid, skipSpace(data, 0), fmt.Errorf("want a JSON object: %v", err))
		return tc
	}
	for _, k := range keys {
		if slices.Contains(testKeys, k.name) {
			continue
		}
		hint, ok := upstreamKeys[k.name]
		if !ok {
			hint = didYouMean(k.name, testKeys)
		}
		advise(registry.KindInvalid, k.off, fmt.Errorf("unknown key %q is ignored, the case runs without it%s", k.name, hint))
	}
	tc.Input, tc.Mock = nonNull(tf.Input), nonNull(tf.Mock)
	if tc.Input == nil {
		// Upstream's later CLI runs such a case with an empty object.
		tc.Input = json.RawMessage("{}")
		advise(registry.KindInvalid, skipSpace(data, 0), errors.New(`test case has no "input": it runs with {}`))
	}
	tc.ExpectedOutput = nonNull(tf.ExpectedOutput)
	if tc.ExpectedOutput == nil {
		tc.ExpectedOutput = nonNull(tf.Expected)
	} else if tf.Expected != nil {
		off, _ := pointerOffset(data, []string{"expected"})
		warn(registry.KindInvalid, off, errors.New(`both "expected_output" and "expected": "expected" is ignored`))
	}
	if tf.ShouldFail != nil && json.Unmarshal(tf.ShouldFail, &tc.ShouldFail) != nil {
		off, _ := pointerOffset(data, []string{"should_fail"})
		warn(registry.KindInvalid, off, fmt.Errorf(`"should_fail" must be true or false, found %s`, tf.ShouldFail))
	}
	if tf.ExpectedError != nil {
		if json.Unmarshal(tf.ExpectedError, &tc.ExpectedError) != nil {
			off, _ := pointerOffset(data, []string{"expected_error"})
			warn(registry.KindInvalid, off, fmt.Errorf(`"expected_error" must be a string, found %s`, tf.ExpectedError))
		} else {
			tc.ShouldFail = true
		}
	}
	if tc.ShouldFail && tc.ExpectedOutput != nil {
		off, _ := pointerOffset(data, []string{"should_fail"})
		warn(registry.KindInvalid, off, errors.New(`a case that should fail has no output to compare: drop "expected_output"`))
	}
	return tc
}

// splitAdvice parts a case's warnings into those that keep it from
// running and those that leave it running.
func splitAdvice(warnings []*registry.LoadError) (problems, advice []*registry.LoadError) {
	for _, w := range warnings {
		if w.Advice {
			advice = append(advice, w)
		} else {
			problems = append(problems, w)
		}
	}
	return problems, advice
}

func nonNull(raw json.RawMessage) json.RawMessage {
	if raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	return raw
}

// tests checks every test case. Whatever is wrong with one is a warning
// on that case: the task loads all the same.
func (l *taskLoad) tests() {
	entries, err := fs.ReadDir(l.in.fsys, testsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		l.fail(testsDir, registry.KindIO, nil, -1, err)
		if len(entries) == 0 {
			return
		}
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".json") || e.IsDir() {
			continue
		}
		if !utf8.ValidString(n) {
			l.fail(path.Join(testsDir, strings.ToValidUTF8(n, "\uFFFD")), registry.KindInvalid, nil, -1,
				fmt.Errorf("test file name %q is not valid UTF-8: rename it", n))
			continue
		}
		names = append(names, path.Join(testsDir, n))
	}
	sort.Strings(names)
	limit := l.in.maxTests
	if limit <= 0 {
		limit = MaxTestBytes
	}
	var used int64
	sizes := listedSizes(entries)
	for _, name := range names {
		// Counted before the file is read, from its size as listed, and
		// again as read, for a file that grows meanwhile. Once one passes
		// the budget, none after it is read: each is a case in ERROR.
		if used+sizes[path.Base(name)] > limit {
			used = limit + 1
			l.fail(name, registry.KindIO, nil, -1, fmt.Errorf("not read: the task's test files up to this one come to over %d bytes, the budget for one task's test files", limit))
			continue
		}
		data, ok := l.read(name, true)
		if !ok {
			continue
		}
		used += int64(len(data))
		// The file is the task's even when it is broken: its case shows as
		// an ERROR, and an edit to it is a change of the task.
		l.testFiles = append(l.testFiles, registry.File{Name: name, Size: int64(len(data)), SHA256: l.sums[name]})
		if !l.decodeObject(name, data) {
			continue
		}
		// A number the validator cannot take is kept from it; the case
		// cannot run either, so its shape is still worth checking.
		numErr := jsonNumbers(data)
		if numErr != nil {
			l.bound(name, registry.KindInvalid, data, numErr)
		}
		keys := objectKeys(data)
		tc := parseTestCase(name, data, keys,
			func(kind registry.Kind, off int, err error) { l.fail(name, kind, data, off, err) },
			func(kind registry.Kind, off int, err error) { l.advise(name, kind, data, off, err) })
		if numErr != nil {
			continue
		}
		if hasKey(keys, "input") && tc.Input != nil {
			l.checkAgainst(name, data, "input", tc.Input, l.schema[inputSchema])
		}
		if tc.ExpectedOutput != nil {
			field := "expected_output"
			if !hasKey(keys, "expected_output") {
				field = "expected"
			}
			l.checkAgainst(name, data, field, tc.ExpectedOutput, l.schema[outputSchema])
		}
	}
}

// listedSizes are the sizes of files as their folder lists them; a file
// whose size it cannot say is absent (0).
func listedSizes(entries []fs.DirEntry) map[string]int64 {
	sizes := make(map[string]int64, len(entries))
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			sizes[e.Name()] = info.Size()
		}
	}
	return sizes
}

// isTestFile is true for the files whose problems are warnings.
func isTestFile(file string) bool {
	return file == testsDir || strings.HasPrefix(file, testsDir+"/")
}
