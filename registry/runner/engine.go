package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// maxCallStack bounds JavaScript recursion: goja keeps its call stack on
// the heap, so unbounded recursion would otherwise eat memory until the
// worker dies instead of throwing.
const maxCallStack = 10000

// maxActual bounds the expected and actual values kept in a result, and
// maxMessage its message: the verdict travels to the server, into the
// verdict file and into every GraphQL answer, and a script can throw an
// error of any size.
const (
	maxActual  = 64 << 10
	maxMessage = 8 << 10
)

// detailCaps are the caps of a result's message and of each of its values
// for a detail of that many bytes (0: no share, the engine's caps); the
// message keeps at least minDetail, enough for its notes.
func detailCaps(detail int) (msg, raw int) {
	if detail <= 0 {
		return maxMessage, maxActual
	}
	return max(min(detail, maxMessage), minDetail), min(detail/2, maxActual)
}

// errTimeout is the value the engine interrupts a runtime with.
var errTimeout = errors.New("timeout")

// Run evaluates one case in a fresh runtime in this process. goja has no
// memory cap: a hostile script can take the whole process down, so the
// server calls this only inside a worker process (see Worker).
func Run(c Case, timeout time.Duration) registry.CaseResult {
	start := time.Now()
	res := run(c, timeout)
	res.File = c.File
	res.Duration = time.Since(start)
	// A passed case shows its expected output too, beside the actual one:
	// a dashboard shows what was checked, not only what went wrong.
	if res.Expected == nil && !c.ShouldFail && len(c.Expected) <= maxActual {
		res.Expected = c.Expected
	}
	return res.Capped(detailCaps(c.Detail))
}

func errorResult(status registry.CaseStatus, format string, args ...any) registry.CaseResult {
	return registry.CaseResult{Status: status, Message: fmt.Sprintf(format, args...)}
}

func run(c Case, timeout time.Duration) registry.CaseResult {
	if c.Problem != "" {
		return errorResult(registry.CaseError, "%s", c.Problem)
	}
	inSchema, err := taskformat.CompileSchema("input.schema.json", c.InputSchema)
	if err != nil {
		return errorResult(registry.CaseError, "input.schema.json: %v", err)
	}
	outSchema, err := taskformat.CompileSchema("output.schema.json", c.OutputSchema)
	if err != nil {
		return errorResult(registry.CaseError, "output.schema.json: %v", err)
	}
	if msg := validate(inSchema, c.Input); msg != "" {
		return errorResult(registry.CaseError, "input does not match input.schema.json: %s", msg)
	}
	prog, err := goja.Compile("main.js", c.Script, false)
	if err != nil {
		res := errorResult(registry.CaseError, "main.js: %s", oneLine(err.Error()))
		// goja's compiler error carries the position only in its text;
		// the parser gives it as numbers.
		var list parser.ErrorList
		if _, perr := parser.ParseFile(nil, "main.js", c.Script, 0); errors.As(perr, &list) && len(list) > 0 {
			res.Message = "main.js: SyntaxError: " + oneLine(list[0].Message)
			res.Line, res.Column = list[0].Position.Line, list[0].Position.Column
		}
		return res
	}

	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	if err := install(vm, c.Mocks); err != nil {
		return errorResult(registry.CaseError, "set up the runtime: %v", err)
	}
	timer := time.AfterFunc(timeout, func() { vm.Interrupt(errTimeout) })
	defer timer.Stop()

	val, err := vm.RunProgram(prog)
	if err != nil {
		return thrown(vm, c, err, timeout)
	}
	fn, ok := callable(vm, val)
	if !ok {
		return errorResult(registry.CaseError, "main.js yields no function: define a function main, or make the script's value a function expression like (function(input) { ... })")
	}
	input, err := parseJSON(vm, c.Input)
	if err != nil {
		return errorResult(registry.CaseError, "input: %v", err)
	}
	out, err := fn(goja.Undefined(), input)
	if err != nil {
		return thrown(vm, c, err, timeout)
	}
	if p, ok := out.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			out = p.Result()
		case goja.PromiseStateRejected:
			return thrown(vm, c, &goja.Exception{}, timeout, p.Result())
		default:
			return errorResult(registry.CaseError, "the returned promise never settled: there are no timers or network, so nothing can resolve it later")
		}
	}
	actual, err := stringify(vm, out)
	if err != nil {
		return errorResult(registry.CaseError, "output: %v", err)
	}
	if c.ShouldFail {
		res := errorResult(registry.CaseFailed, "returned instead of throwing%s", wantErrorSuffix(c))
		res.Actual = actual
		return res
	}
	if msg := validate(outSchema, actual); msg != "" {
		res := errorResult(registry.CaseFailed, "output does not match output.schema.json: %s", msg)
		res.Actual = actual
		return res
	}
	if c.Expected != nil {
		if ptr, got, want, same := difference(actual, c.Expected); !same {
			at := ""
			if ptr != "" {
				at = " at " + ptr
			}
			res := errorResult(registry.CaseFailed, "expected_output differs%s: got %s, want %s", at, got, want)
			res.Actual, res.Expected = actual, c.Expected
			return res
		}
	}
	return registry.CaseResult{Status: registry.CasePassed, Actual: actual}
}

func wantErrorSuffix(c Case) string {
	if c.ExpectedError != "" {
		return fmt.Sprintf(" (want an error containing %q)", c.ExpectedError)
	}
	return " (should_fail)"
}

// thrown turns what stopped the script into the case's result. A
// rejected promise passes its reason as value.
func thrown(vm *goja.Runtime, c Case, err error, timeout time.Duration, value ...goja.Value) registry.CaseResult {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		return errorResult(registry.CaseTimeout, "ran longer than %s", timeout)
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return errorResult(registry.CaseError, "stack overflow: recursion deeper than %d calls", maxCallStack)
	}
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		return errorResult(registry.CaseError, "%s", oneLine(err.Error()))
	}
	var v goja.Value
	if len(value) > 0 {
		v = value[0]
	} else {
		v = ex.Value()
	}
	name, msg := describe(vm, v, c.Detail)
	line, col := throwPosition(ex, v)
	if c.ShouldFail {
		if c.ExpectedError == "" || strings.Contains(name, c.ExpectedError) || strings.Contains(msg, c.ExpectedError) {
			return registry.CaseResult{Status: registry.CasePassed}
		}
		res := errorResult(registry.CaseFailed, "threw %s%s, want an error containing %q", name, withColon(msg), c.ExpectedError)
		res.Line, res.Column = line, col
		return res
	}
	res := errorResult(registry.CaseError, "threw %s%s", name, withColon(msg))
	res.Line, res.Column = line, col
	return res
}

func withColon(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// describe names a thrown value: an Error's name and message, or the
// value. A message is cut to the result's cap at once, leaving room for
// the words around it, so that a huge one is not copied about.
func describe(vm *goja.Runtime, v goja.Value, detail int) (name, msg string) {
	limit, _ := detailCaps(detail)
	clip := func(s string) string { return registry.Truncate(s, limit-minDetail/2, limit) }
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return fmt.Sprint(v), ""
	}
	if obj, ok := v.(*goja.Object); ok {
		n, m := obj.Get("name"), obj.Get("message")
		if n != nil && !goja.IsUndefined(n) {
			name = clip(n.String())
		}
		if m != nil && !goja.IsUndefined(m) {
			msg = clip(oneLine(m.String()))
		}
		if name != "" || msg != "" {
			return name, msg
		}
	}
	s, err := stringify(vm, v)
	if err != nil || s == nil {
		return clip(oneLine(v.String())), ""
	}
	return short(s), ""
}

// throwPosition finds where in main.js the error was made: an Error's own
// stack when it has one, else where it was thrown.
func throwPosition(ex *goja.Exception, v goja.Value) (int, int) {
	if obj, ok := v.(*goja.Object); ok {
		if s := obj.Get("stack"); s != nil && !goja.IsUndefined(s) {
			if l, c, ok := parseStackPosition(s.String()); ok {
				return l, c
			}
		}
	}
	for _, f := range ex.Stack() {
		if f.SrcName() == "main.js" {
			p := f.Position()
			return p.Line, p.Column
		}
	}
	return 0, 0
}

// parseStackPosition reads the first "main.js:LINE:COL" of a goja stack.
func parseStackPosition(stack string) (int, int, bool) {
	_, at, ok := strings.Cut(stack, "main.js:")
	if !ok {
		return 0, 0, false
	}
	var line, col int
	if n, _ := fmt.Sscanf(at, "%d:%d", &line, &col); n < 1 {
		return 0, 0, false
	}
	return line, col, true
}

// callable finds what to call: a global main, else the script's value.
// main is looked up by name rather than on the global object, so that a
// top-level let or const main counts too.
func callable(vm *goja.Runtime, val goja.Value) (goja.Callable, bool) {
	if m, err := vm.RunProgram(findMain); err == nil {
		if fn, ok := goja.AssertFunction(m); ok {
			return fn, true
		}
	}
	return goja.AssertFunction(val)
}

var findMain = goja.MustCompile("find-main.js", `typeof main === "function" ? main : undefined`, false)

func parseJSON(vm *goja.Runtime, raw json.RawMessage) (goja.Value, error) {
	parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	return parse(goja.Undefined(), vm.ToValue(string(raw)))
}

// stringify gives a value as JSON the way the script sees it: undefined
// (a function that returns nothing) is null.
func stringify(vm *goja.Runtime, v goja.Value) (json.RawMessage, error) {
	fn, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))
	s, err := fn(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(s) {
		return json.RawMessage("null"), nil
	}
	return json.RawMessage(s.String()), nil
}

func validate(sch *jsonschema.Schema, raw json.RawMessage) string {
	if err := taskformat.ValidateJSON(sch, raw); err != nil {
		return taskformat.SchemaErrorMessage(err)
	}
	return ""
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
