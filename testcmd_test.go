package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const testcmdOutput = `testdata/testcmd/broken/main.js:1:1: main.js yields no function: define a function main, or make the script's value a function expression like (function(input) { ... })
testdata/testcmd/failing/tests/wrong.json: expected_output differs at /sum: got 3, want 4
testdata/testcmd/throwing/main.js:3:11: tests/missing.json: threw ValidationError: name is required
6 cases in 3 tasks: 4 passed, 2 failed; 1 problem loading
`

func TestTestCommand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, when set
		stderr string // contained
	}{
		{"everything", []string{"testdata/testcmd"}, 1, testcmdOutput, ""},
		{"flags after paths", []string{"testdata/testcmd", "--workers", "1", "--timeout", "5s"}, 1, testcmdOutput, ""},
		{"all pass", []string{"--workers=1", "testdata/testcmd/passing"}, 0, "2 cases in 1 task: 2 passed, 0 failed\n", ""},
		{"examples pass, versions of one task counted once", []string{"examples"}, 0, "8 cases in 4 tasks (6 versions): 8 passed, 0 failed\n", ""},
		{"a test file's problem at its place", []string{"testdata/warnings"}, 1, `testdata/warnings/add/tests/string-input.json:2:19: input does not match input.schema.json: at /a: got string, want number
testdata/warnings/add/tests/syntax.json:2:30: missing comma after the value that ends on line 2
testdata/warnings/add/tests/camel.json:3:3: warning: unknown key "expectedOutput" is ignored, the case runs without it: did you mean "expected_output"?
5 cases in 1 task: 3 passed, 2 failed; 1 warning (above)
`, ""},
		{"no path", nil, 2, "", "no PATH"},
		{"bad workers", []string{"--workers", "-1", "examples"}, 2, "", "--workers is -1"},
		{"bad memory", []string{"--memory", "lots", "examples"}, 2, "", `want a size such as 256MiB`},
		{"unknown flag", []string{"--junk", "examples"}, 2, "", "--junk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"test"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.stderr)
			}
		})
	}
}

// TestTestJUnit checks the report against the shape CI systems read:
// testsuites > testsuite > testcase, counts that add up, a failure for a
// wrong answer and an error for a throw or a load problem.
func TestTestJUnit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"test", "testdata/testcmd", "--junit", path}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type problem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
	}
	var doc struct {
		XMLName xml.Name
		Tests   string `xml:"tests,attr"`
		Suites  []struct {
			Name     string `xml:"name,attr"`
			Tests    string `xml:"tests,attr"`
			Failures string `xml:"failures,attr"`
			Errors   string `xml:"errors,attr"`
			Cases    []struct {
				Name      string   `xml:"name,attr"`
				Classname string   `xml:"classname,attr"`
				Time      string   `xml:"time,attr"`
				Failure   *problem `xml:"failure"`
				Error     *problem `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	if doc.XMLName.Local != "testsuites" {
		t.Fatalf("root %s, want testsuites", doc.XMLName.Local)
	}
	total, failures, errs := 0, map[string]string{}, map[string]string{}
	for _, s := range doc.Suites {
		f, e := 0, 0
		for _, c := range s.Cases {
			if c.Name == "" || c.Classname == "" {
				t.Errorf("suite %s: a testcase without name or classname", s.Name)
			}
			if _, err := strconv.ParseFloat(c.Time, 64); err != nil {
				t.Errorf("testcase %s: time %q", c.Name, c.Time)
			}
			if c.Failure != nil {
				f++
				failures[c.Name] = c.Failure.Message
			}
			if c.Error != nil {
				e++
				errs[c.Name] = c.Error.Type + " " + c.Error.Message
			}
		}
		if s.Tests != strconv.Itoa(len(s.Cases)) || s.Failures != strconv.Itoa(f) || s.Errors != strconv.Itoa(e) {
			t.Errorf("suite %s: tests=%s failures=%s errors=%s, but it holds %d cases, %d failures, %d errors", s.Name, s.Tests, s.Failures, s.Errors, len(s.Cases), f, e)
		}
		total += len(s.Cases)
	}
	if doc.Tests != strconv.Itoa(total) || total != 7 {
		t.Errorf("tests=%s over %d testcases, want 7", doc.Tests, total)
	}
	if failures["tests/wrong.json"] != "expected_output differs at /sum: got 3, want 4" || len(failures) != 1 {
		t.Errorf("failures %v", failures)
	}
	if errs["tests/missing.json"] != "ERROR threw ValidationError: name is required" || len(errs) != 2 {
		t.Errorf("errors %v", errs)
	}
}
