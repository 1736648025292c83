package runner

import (
	"encoding/xml"
	"fmt"
	"os"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// The JUnit XML shape that GitHub, GitLab and Jenkins read: testsuites of
// testsuite of testcase, each with a failure or an error when it did not
// pass.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes every case to the file path as JUnit XML: a FAILED
// case is a failure, ERROR and TIMEOUT are errors; each load problem is
// an error in a suite of its own.
func WriteJUnit(path string, runs []*TaskRun, problems []taskformat.Problem) error {
	doc := junitSuites{Name: "ratchet-registry test"}
	var total time.Duration
	for _, r := range runs {
		if len(r.Results) == 0 {
			continue
		}
		s := junitSuite{Name: fmt.Sprintf("%s %s (%s)", r.Task.Label, r.Task.Version, r.Task.ID)}
		var took time.Duration
		for i, res := range r.Results {
			c := junitCase{Name: res.File, Classname: r.Task.Label + " " + r.Task.Version, File: r.Task.FilePath(res.File), Time: elapsed(res.Duration)}
			detail := CaseProblem(r.Task, r.Names[i], res).String()
			if len(res.Expected) > 0 || len(res.Actual) > 0 {
				detail += fmt.Sprintf("\nexpected: %s\nactual:   %s", res.Expected, res.Actual)
			}
			switch res.Status {
			case registry.CaseFailed:
				c.Failure = &junitProblem{Message: res.Message, Type: string(res.Status), Text: detail}
				s.Failures++
			case registry.CaseError, registry.CaseTimeout:
				c.Error = &junitProblem{Message: res.Message, Type: string(res.Status), Text: detail}
				s.Errors++
			}
			s.Tests++
			took += res.Duration
			s.Cases = append(s.Cases, c)
		}
		s.Time = elapsed(took)
		total += took
		doc.Suites = append(doc.Suites, s)
	}
	if len(problems) > 0 {
		s := junitSuite{Name: "load", Time: elapsed(0)}
		for _, p := range problems {
			s.Cases = append(s.Cases, junitCase{Name: p.String(), Classname: "load", File: p.Path, Time: elapsed(0),
				Error: &junitProblem{Message: p.Msg, Type: "LOAD", Text: p.String()}})
			s.Tests++
			s.Errors++
		}
		doc.Suites = append(doc.Suites, s)
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
	}
	doc.Time = elapsed(total)
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := os.WriteFile(path, append([]byte(xml.Header), append(out, '\n')...), 0o644); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// elapsed is a duration in seconds, as JUnit writes it.
func elapsed(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
