package taskformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// lineCol turns a byte offset into a 1-based line and a 1-based column
// counted in characters, as editors show them.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// jsonErrorOffset finds where encoding/json stopped. A syntax error's
// offset is just past the bad byte; step back onto it.
func jsonErrorOffset(data []byte, err error) (int, bool) {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		if off > 0 && off <= len(data) && se.Error() != "unexpected end of JSON input" {
			off--
		}
		return off, true
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return int(te.Offset), true
	}
	return 0, false
}

func skipSpace(data []byte, p int) int {
	for p < len(data) {
		switch data[p] {
		case ' ', '\t', '\r', '\n':
			p++
		default:
			return p
		}
	}
	return p
}

// pointerOffset returns the offset of the value that a JSON pointer (given
// as unescaped segments) names, so that schema and field errors can carry a
// line and column. It returns the deepest offset it reached and false when
// the pointer does not resolve.
func pointerOffset(data []byte, ptr []string) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	pos := skipSpace(data, 0)
	var raw json.RawMessage
	for _, seg := range ptr {
		tok, err := dec.Token()
		if err != nil {
			return pos, false
		}
		found := false
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return pos, false
				}
				p := skipSpace(data, int(dec.InputOffset()))
				if p < len(data) && data[p] == ':' {
					p = skipSpace(data, p+1)
				}
				if k == seg {
					pos, found = p, true
					break
				}
				if dec.Decode(&raw) != nil {
					return pos, false
				}
			}
		case json.Delim('['):
			idx, err := strconv.Atoi(seg)
			if err != nil {
				return pos, false
			}
			for i := 0; dec.More(); i++ {
				if i == idx {
					p := skipSpace(data, int(dec.InputOffset()))
					if p < len(data) && data[p] == ',' {
						p = skipSpace(data, p+1)
					}
					pos, found = p, true
					break
				}
				if dec.Decode(&raw) != nil {
					return pos, false
				}
			}
		}
		if !found {
			return pos, false
		}
	}
	return pos, true
}

// jsonKey is a key of a JSON object with the offset of its opening quote.
type jsonKey struct {
	name string
	off  int
}

// objectKeys lists the top-level keys of a JSON object in the order
// written, each with its place, so that a problem with a key can point at
// it. It returns what it read before any syntax error. It scans the
// bytes: a test file's keys are read at every load of its task, and a
// decoder would copy each value (a 4 MiB input, several times) only to
// step over it.
func objectKeys(data []byte) []jsonKey {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil
	}
	var keys []jsonKey
	for i = skipSpace(data, i+1); i < len(data) && data[i] == '"'; {
		end := skipJSONString(data, i)
		if end >= len(data) || data[end] != '"' {
			return keys
		}
		var name string
		if bytes.IndexByte(data[i+1:end], '\\') < 0 {
			name = string(data[i+1 : end])
		} else if json.Unmarshal(data[i:end+1], &name) != nil {
			return keys
		}
		keys = append(keys, jsonKey{name: name, off: i})
		i = skipSpace(data, end+1)
		if i >= len(data) || data[i] != ':' {
			return keys
		}
		i = skipSpace(data, skipJSONValue(data, skipSpace(data, i+1)))
		if i >= len(data) || data[i] != ',' {
			return keys
		}
		i = skipSpace(data, i+1)
	}
	return keys
}

// skipJSONValue returns the offset just past the value that starts at i,
// or len(data) when it does not end. Like jsonNesting it is no validator.
func skipJSONValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipJSONString(data, i) + 1
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipJSONString(data, i)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

// hasKey reports whether keys holds name.
func hasKey(keys []jsonKey, name string) bool {
	for _, k := range keys {
		if k.name == name {
			return true
		}
	}
	return false
}
