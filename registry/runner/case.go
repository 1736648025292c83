// Package runner runs the test cases of tasks: a JavaScript engine that
// answers one case, worker processes that run it under kernel-enforced
// limits, a pool that replaces workers that die, and a scheduler that
// turns the registry's snapshots into verdicts.
package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
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
	// Detail is the bytes the result may keep of its message and values,
	// its share of the verdict's (see detailCaps); 0: the engine's caps.
	Detail int `json:"detail,omitempty"`
}

// Mock is one canned HTTP answer of a case.
type Mock struct {
	URL      string          `json:"url"`              // empty: any request
	Method   string          `json:"method,omitempty"` // empty: GET
	Response json.RawMessage `json:"response"`
}

// NewCase makes a case to run of one that the loader parsed, so that the
// format of test files has one parser. A case with problems is an ERROR
// without running.
func NewCase(tc taskformat.TestCase) Case {
	c := Case{File: tc.Name, Input: tc.Input, Expected: tc.ExpectedOutput, ShouldFail: tc.ShouldFail, ExpectedError: tc.ExpectedError}
	if len(tc.Problems) > 0 {
		msgs := make([]string, len(tc.Problems))
		for i, p := range tc.Problems {
			msgs[i] = p.Message()
		}
		c.Problem = strings.Join(msgs, "; ")
		return c
	}
	if tc.Mock != nil {
		var mock struct {
			HTTP json.RawMessage `json:"http"`
		}
		if err := json.Unmarshal(tc.Mock, &mock); err != nil {
			c.Problem = fmt.Sprintf("mock: %v", err)
			return c
		}
		if mock.HTTP != nil {
			mocks, err := parseMocks(mock.HTTP)
			if err != nil {
				c.Problem = err.Error()
				return c
			}
			c.Mocks = mocks
		}
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
		list[i].Method = strings.ToUpper(m.Method)
	}
	return list, nil
}
