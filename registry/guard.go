package registry

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic inside a library that reads or checks a task's
// files (the schema compiler and validator, goja's parser, the SemVer
// and UUID parsers, archive/zip), caught where the library is called.
// A library's bug on one file is that file's problem: the task fails
// with this error, and the process and every other task go on.
type PanicError struct {
	Op    string // what was being done: "compile input.schema.json"
	Value any    // what the library passed to panic
	Stack []byte // where, for a bug report; not shown to authors
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s: the library doing it crashed on this file (%v); the file is refused", e.Op, e.Value)
}

// Guard calls f, turning a panic into a *PanicError for op. Fatal
// runtime errors (a stack overflow, memory exhausted) are beyond any
// recover: the bounds checked before a parser runs (MaxNesting,
// MaxNumberLength) keep those away.
func Guard[T any](op string, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, &PanicError{Op: op, Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}
