package taskformat

import "fmt"

// MaxNesting bounds how deep a task file's JSON and JavaScript may nest.
// The parsers behind the loader (encoding/json, the schema compiler,
// goja) recurse once a level; goja overflows the Go stack, which no
// recover catches, at some hundred thousand levels, and parses slower
// and slower well before that. No task written by a person nests a
// hundredth as deep.
const MaxNesting = 256

// boundError says where a file passes a bound, before any parser has
// seen it.
type boundError struct {
	off int
	msg string
}

func (e *boundError) Error() string { return e.msg }

// jsonNesting scans JSON for arrays and objects nested deeper than max,
// skipping strings. It is not a validator: a malformed document passes
// here and is reported by the parser, which is then safe to run.
func jsonNesting(data []byte, max int) error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = skipJSONString(data, i)
		case '[', '{':
			depth++
			if depth > max {
				return &boundError{off: i, msg: fmt.Sprintf("JSON nested deeper than %d levels", max)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// skipJSONString returns the offset of the quote that closes the string
// opening at i, or the last offset when it is not closed.
func skipJSONString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data) - 1
}
