// Package runner runs the test cases of tasks: a JavaScript engine that
// answers one case, worker processes that run it under kernel-enforced
// limits, a pool that replaces workers that die, and a scheduler that
// turns the registry's snapshots into verdicts.
package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Case is everything one test case needs to run, self-contained so that it
// can be sent to a worker process.
type Case struct {
	File          string          `json:"file"` // "tests/basic.json"
	Script        string          `json:"script"`
	InputSchema   json.RawMessage `json:"inputSchema"`
	OutputSchema  json.RawMessage `json:"outputSchema"`
	Input         json.RawMessage `json:"input"`
	Expected      json.RawMessage `json:"expected,omitempty"` // nil: the output is not compared
	ShouldFail    bool            `json:"shouldFail,omitempty"`
	ExpectedError string          `json:"expectedError,omitempty"`
	Mocks         []Mock          `json:"mocks,omitempty"`
	// Problem is what is wrong with the test file itself: the case is an
	// ERROR without running.
	Problem string `json:"problem,omitempty"`
}

// Mock is one canned HTTP answer of a case.
type Mock struct {
	URL      string          `json:"url"`
	Method   string          `json:"method,omitempty"` // empty: any
	Response json.RawMessage `json:"response"`
}

// testFile is the shape of tests/*.json, upstream's later keys included.
type testFile struct {
	Input          json.RawMessage `json:"input"`
	ExpectedOutput json.RawMessage `json:"expected_output"`
	Expected       json.RawMessage `json:"expected"`
	ShouldFail     bool            `json:"should_fail"`
	ExpectedError  *string         `json:"expected_error"`
	Mock           *struct {
		HTTP json.RawMessage `json:"http"`
	} `json:"mock"`
}

// knownKeys are the keys a test file may have; any other is a problem,
// since a misspelt "expected_ouput" would otherwise pass silently.
var knownKeys = []string{"input", "expected_output", "expected", "should_fail", "expected_error", "mock", "description", "name"}

// ParseCase reads one test file into a case. A file that cannot be used
// still gives a case, carrying the problem, so that it shows as an ERROR
// instead of disappearing.
func ParseCase(file string, data []byte) Case {
	c := Case{File: file}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		c.Problem = fmt.Sprintf("%s is not a JSON object: %v", file, err)
		return c
	}
	var unknown []string
	for k := range keys {
		if !slices.Contains(knownKeys, k) {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		c.Problem = fmt.Sprintf("unknown key %s (known: input, expected_output, expected, should_fail, expected_error, mock)", strings.Join(unknown, ", "))
		return c
	}
	var tf testFile
	if err := json.Unmarshal(data, &tf); err != nil {
		c.Problem = fmt.Sprintf("bad test case: %v", err)
		return c
	}
	if tf.Input == nil {
		c.Problem = `test case has no "input"`
		return c
	}
	c.Input = tf.Input
	c.Expected = tf.ExpectedOutput
	if c.Expected == nil {
		c.Expected = tf.Expected
	}
	c.ShouldFail = tf.ShouldFail
	if tf.ExpectedError != nil {
		c.ExpectedError = *tf.ExpectedError
		c.ShouldFail = true
	}
	if tf.Mock != nil && tf.Mock.HTTP != nil {
		mocks, err := parseMocks(tf.Mock.HTTP)
		if err != nil {
			c.Problem = err.Error()
			return c
		}
		c.Mocks = mocks
	}
	return c
}

// parseMocks takes one mock or a list of them.
func parseMocks(raw json.RawMessage) ([]Mock, error) {
	raw = bytes.TrimSpace(raw)
	var list []Mock
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("mock.http: %w", err)
		}
	} else {
		var m Mock
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("mock.http: %w", err)
		}
		list = []Mock{m}
	}
	for i, m := range list {
		if m.URL == "" {
			return nil, errors.New("mock.http: a mock needs a url")
		}
		list[i].Method = strings.ToUpper(m.Method)
	}
	return list, nil
}
