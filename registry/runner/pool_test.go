package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"go.uber.org/goleak"
)

// workerEnv makes the test binary a worker when it is started again by a
// pool under test, as the real binary is with __test-worker.
const workerEnv = "RATCHET_RUNNER_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := Worker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// testLimits are small enough that no test can take much of the machine.
// The timeout is generous: ending 10,000 nested calls takes goja 0.8 s under
// the race detector on an idle machine, several seconds on a loaded one, and
// the recursion case must end as a stack overflow, not a timeout.
var testLimits = Limits{Timeout: 10 * time.Second, Memory: 256 << 20}

func newTestPool(tb testing.TB, workers int) *Pool {
	tb.Helper()
	return newLimitedPool(tb, workers, testLimits)
}

// newLimitedPool is a pool of test workers under the limits given.
func newLimitedPool(tb testing.TB, workers int, limits Limits) *Pool {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	p := NewPool(PoolConfig{Command: []string{exe, "-test.run=^$"}, Env: append(os.Environ(), workerEnv+"=1"),
		Workers: workers, Limits: limits})
	tb.Cleanup(p.Close)
	return p
}

func script(tb testing.TB, name string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "scripts", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// newCase is a case of a task whose schemas accept anything.
func newCase(tb testing.TB, scriptName, testFile string) Case {
	tb.Helper()
	c := NewCase(loadCase(tb, testFile))
	c.Script = script(tb, scriptName)
	c.InputSchema = json.RawMessage(`{"type": "object"}`)
	c.OutputSchema = json.RawMessage(`{"type": "object"}`)
	return c
}

// hostile is the corpus every runner must survive; each gets its verdict.
var hostile = []struct {
	name, script, test string
	status             registry.CaseStatus
	message            string // contained in the result's message
}{
	{"endless loop", "loop.js", `{"input": {}}`, registry.CaseTimeout, "ran longer than 10s"},
	{"typed arrays", "typed_arrays.js", `{"input": {}}`, registry.CaseError, "memory limit 256 MiB"},
	{"unbounded recursion", "recursion.js", `{"input": {}}`, registry.CaseError, "stack overflow"},
	{"fast allocator", "huge_string.js", `{"input": {}}`, registry.CaseError, "memory limit 256 MiB"},
	{"syntax error", "syntax.js", `{"input": {}}`, registry.CaseError, "main.js: SyntaxError"},
	{"no function", "no_function.js", `{"input": {}}`, registry.CaseError, "main.js yields no function"},
	{"missing mock", "fetch.js", `{"input": {"url": "https://api.example.com/x"}}`, registry.CaseError,
		"threw NetworkError: no mock for GET https://api.example.com/x"},
	{"async function", "async.js", `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": 3}}`, registry.CasePassed, ""},
	{"rejected promise", "reject.js", `{"input": {"a": 1}}`, registry.CaseError, "threw DataError: bad data: 1"},
	{"type error", "undefined_throw.js", `{"input": {}}`, registry.CaseError, "threw TypeError"},
	{"wrong output", "add.js", `{"input": {"a": 1, "b": 3}, "expected_output": {"sum": 3}}`, registry.CaseFailed,
		"expected_output differs at /sum: got 4, want 3"},
	{"right output", "add.js", `{"input": {"a": 1, "b": 2}, "expected": {"sum": 3.0}}`, registry.CasePassed, ""},
	{"huge message", "huge_throw.js", `{"input": {"n": 2097152}}`, registry.CaseError, "xxx… (truncated: 2 MiB message over the 8 KiB limit)"},
	{"huge output", "huge_output.js", `{"input": {"n": 102400}, "expected_output": {"s": "y"}}`, registry.CaseFailed,
		"(actual: 100 KiB over the 64 KiB limit, not kept)"},
	{"huge expected", "add.js", `{"input": {"a": 1, "b": 2}, "expected_output": {"sum": "` + strings.Repeat("9", 100<<10) + `"}}`, registry.CaseFailed,
		"(expected: 100 KiB over the 64 KiB limit, not kept)"},
}

// thrownMessage is the message of throw.js's `new E("it went wrong")`:
// HttpError takes (status, message), as upstream's, so it has its default.
func thrownMessage(class string) string {
	if class == "HttpError" {
		return "HTTP error"
	}
	return "it went wrong"
}

func TestPoolHostile(t *testing.T) {
	p := newTestPool(t, 2)
	var cases []struct {
		name, script, test string
		status             registry.CaseStatus
		message            string
	}
	cases = append(cases, hostile...)
	for _, class := range errorClasses {
		cases = append(cases, struct {
			name, script, test string
			status             registry.CaseStatus
			message            string
		}{"throw " + class.Name, "throw.js", fmt.Sprintf(`{"input": {"name": %q}}`, class.Name), registry.CaseError, "threw " + class.Name + ": " + thrownMessage(class.Name)})
	}
	// Every hostile case at once, on two workers: each must get its own
	// verdict whatever its neighbour does.
	results := make([]registry.CaseResult, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = p.Run(context.Background(), newCase(t, tc.script, tc.test))
		}()
	}
	wg.Wait()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := results[i]
			if len(r.Message) > maxMessage || len(r.Actual) > maxActual || len(r.Expected) > maxActual {
				t.Errorf("got a message of %d bytes, actual %d, expected %d, want at most %d, %d and %d", len(r.Message), len(r.Actual), len(r.Expected), maxMessage, maxActual, maxActual)
			}
			if r.Status != tc.status || !strings.Contains(r.Message, tc.message) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Message, tc.status, tc.message)
			}
		})
	}
	// The pool still answers after all of that.
	r := p.Run(context.Background(), newCase(t, "add.js", `{"input": {"a": 2, "b": 2}, "expected_output": {"sum": 4}}`))
	if r.Status != registry.CasePassed {
		t.Errorf("after the hostile corpus: got %s %q, want PASSED", r.Status, r.Message)
	}
}

// loadCase is testFile's case as the scheduler gets it: the test file of a
// task loaded from disk, read back through the task's content, with what
// the load found in it.
func loadCase(tb testing.TB, testFile string) taskformat.TestCase {
	tb.Helper()
	dir := tb.TempDir()
	registrytest.WriteTree(tb, dir, registrytest.Task(registrytest.ID1, "1.0.0").With("tests/one.json", "", "tests/case.json", testFile))
	r := taskformat.NewLoader().LoadDir(taskformat.Root{Source: "test", Key: ".", Display: dir}, taskformat.DirFS(dir))
	if r.Task == nil {
		tb.Fatalf("load %s: %v", testFile, r.Errors)
	}
	tc, err := taskformat.NewContent(1<<20).TestCase(r.Task, "tests/case.json")
	if err != nil {
		tb.Fatal(err)
	}
	return tc
}
