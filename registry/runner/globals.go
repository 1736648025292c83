package runner

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"

	"github.com/dop251/goja"
)

// errorClasses are the error types that upstream Ratchet gives every task
// as globals, each with upstream's default message (ratchet-js's
// JS_ERROR_CONFIGS): `new NetworkError()` has the message "Network error".
var errorClasses = []struct{ Name, Message string }{
	{"AuthenticationError", "Authentication failed"},
	{"AuthorizationError", "Authorization failed"},
	{"NetworkError", "Network error"},
	{"HttpError", "HTTP error"},
	{"ValidationError", "Validation error"},
	{"ConfigurationError", "Configuration error"},
	{"RateLimitError", "Rate limit exceeded"},
	{"ServiceUnavailableError", "Service unavailable"},
	{"TimeoutError", "Timeout error"},
	{"DataError", "Data error"},
}

// prelude defines the error classes. It is compiled once: a Program can
// be shared by runtimes. HttpError takes (status, message), as upstream's;
// the others (message).
var prelude = goja.MustCompile("prelude.js", `(function (classes) {
	classes.forEach(function (c) {
		var name = c.Name, fallback = c.Message;
		var E = name === "HttpError" ?
			class extends Error {
				constructor(status, message) {
					super(message === undefined || message === null || message === "" ? fallback : message);
					this.name = name;
					this.status = status;
				}
			} :
			class extends Error {
				constructor(message) {
					super(message === undefined || message === null || message === "" ? fallback : message);
					this.name = name;
				}
			};
		Object.defineProperty(E, "name", { value: name });
		globalThis[name] = E;
	});
	var quiet = function () {};
	globalThis.console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet };
})`, true)

// install gives a fresh runtime what a task may use: the error classes, a
// console that goes nowhere, and fetch answered from the case's mocks.
func install(vm *goja.Runtime, mocks []Mock) error {
	def, err := vm.RunProgram(prelude)
	if err != nil {
		return err
	}
	fn, _ := goja.AssertFunction(def)
	if _, err := fn(goja.Undefined(), vm.ToValue(errorClasses)); err != nil {
		return err
	}
	return vm.Set("fetch", func(call goja.FunctionCall) goja.Value { return fetch(vm, mocks, call) })
}

// fetch is upstream's synchronous fetch(url, params, body), answered only
// from mocks: a test never reaches the network.
func fetch(vm *goja.Runtime, mocks []Mock, call goja.FunctionCall) goja.Value {
	url := call.Argument(0).String()
	method := "GET"
	if p, ok := call.Argument(1).(*goja.Object); ok {
		if m := p.Get("method"); m != nil && !goja.IsUndefined(m) && !goja.IsNull(m) {
			method = strings.ToUpper(m.String())
		}
	}
	m, ok := findMock(mocks, method, url)
	if !ok {
		throwClass(vm, "NetworkError", fmt.Sprintf("no mock for %s %s: tests never reach the network; add it to the test case's mock.http", method, url), nil)
	}
	resp, err := parseJSON(vm, m.Response)
	if err != nil {
		throwClass(vm, "DataError", fmt.Sprintf("mock for %s: response is not JSON: %v", url, err), nil)
	}
	status, statusText := int64(200), "OK"
	body, headers := resp, goja.Value(vm.NewObject())
	if obj, ok := resp.(*goja.Object); ok {
		if s := obj.Get("status"); s != nil && !goja.IsUndefined(s) {
			status = s.ToInteger()
			statusText = http.StatusText(int(status))
			if b := obj.Get("body"); b != nil {
				body = b
			}
			if h, ok := obj.Get("headers").(*goja.Object); ok {
				headers = h
			}
			if t := obj.Get("statusText"); t != nil && !goja.IsUndefined(t) {
				statusText = t.String()
			}
		}
	}
	if status < 200 || status > 299 {
		throwClass(vm, statusClass(status), fmt.Sprintf("HTTP %d %s from %s %s", status, statusText, method, url), vm.ToValue(status))
	}
	out := vm.NewObject()
	_ = out.Set("ok", true)
	_ = out.Set("status", status)
	_ = out.Set("statusText", statusText)
	_ = out.Set("headers", headers)
	_ = out.Set("body", body)
	return out
}

// findMock matches method and URL exactly, then as upstream does: the
// request URL contains the mock's, and a mock without a URL matches any. A
// mock without a method answers GET only.
func findMock(mocks []Mock, method, url string) (Mock, bool) {
	methodOK := func(m Mock) bool { return cmp.Or(m.Method, "GET") == method }
	for _, m := range mocks {
		if methodOK(m) && m.URL == url {
			return m, true
		}
	}
	for _, m := range mocks {
		if methodOK(m) && strings.Contains(url, m.URL) {
			return m, true
		}
	}
	return Mock{}, false
}

// statusClass is the error upstream throws for a failed HTTP status.
func statusClass(status int64) string {
	switch {
	case status == 401:
		return "AuthenticationError"
	case status == 403:
		return "AuthorizationError"
	case status == 429:
		return "RateLimitError"
	case status >= 500:
		return "ServiceUnavailableError"
	default:
		return "HttpError"
	}
}

// throwClass throws a new instance of one of the error classes, with the
// HTTP status as its status when there is one; goja turns a panic with a
// Value inside a native function into a JavaScript throw.
func throwClass(vm *goja.Runtime, class, msg string, status goja.Value) {
	args := []goja.Value{vm.ToValue(msg)}
	if class == "HttpError" {
		args = []goja.Value{goja.Undefined(), vm.ToValue(msg)}
		if status != nil {
			args[0] = status
		}
	}
	obj, err := vm.New(vm.Get(class), args...)
	if err != nil {
		panic(vm.NewGoError(err))
	}
	if status != nil {
		_ = obj.Set("status", status)
	}
	panic(obj)
}
