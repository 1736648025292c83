package lsp

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// valueSpan finds the value of a top-level key of a JSON object: its byte
// offsets [from, to). It reads text with encoding/json, so it answers only
// for a document that is well formed up to that value; where it is not,
// the start of the text and false.
func valueSpan(text, key string) (from, to int, ok bool) {
	data := []byte(text)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, 0, false
	}
	var raw json.RawMessage
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		start := skipSpace(data, int(dec.InputOffset()))
		if start < len(data) && data[start] == ':' {
			start = skipSpace(data, start+1)
		}
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if k == key {
			return start, int(dec.InputOffset()), true
		}
	}
	return 0, 0, false
}

func skipSpace(data []byte, p int) int {
	for p < len(data) && (data[p] == ' ' || data[p] == '\t' || data[p] == '\n' || data[p] == '\r') {
		p++
	}
	return p
}

// spot is what lies at a place in a JSON text that is being typed, and so
// is often not well formed: the keys of the objects leading to the one
// the place is in ("[]" for the items of an array), and the key under it.
type spot struct {
	path     []string
	inObject bool   // the place is directly inside an object, where keys are
	onKey    bool   // the place is on a key
	key      string // that key
	from, to int    // its span, quotes included
	keyPlace bool   // a key may be typed here: after { or , or inside a key
	// deep is a place nested deeper than the loader reads a task file:
	// nothing is said of it. The path to it would cost memory in
	// proportion to the document (a client's 5 MiB of "[" made hundreds
	// of megabytes and seconds of each hover).
	deep bool
}

// frame is an object or an array open at the place scanned.
type frame struct {
	object  bool
	key     string
	wantKey bool
}

// locate scans text up to off, forgiving what is not JSON yet: a string
// left open ends at its line's end.
func locate(text string, off int) spot {
	off = max(0, min(off, len(text)))
	var stack []frame
	result := func() spot {
		var sp spot
		if len(stack) == 0 {
			return sp
		}
		for _, f := range stack[:len(stack)-1] {
			if f.object {
				sp.path = append(sp.path, f.key)
			} else {
				sp.path = append(sp.path, "[]")
			}
		}
		top := stack[len(stack)-1]
		sp.inObject = top.object
		sp.keyPlace = top.object && top.wantKey
		return sp
	}
	for i := 0; i < len(text); i++ {
		if i >= off {
			return result()
		}
		switch c := text[i]; c {
		case '{', '[':
			if len(stack) == taskformat.MaxNesting {
				return spot{deep: true}
			}
			stack = append(stack, frame{object: c == '{', wantKey: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey, stack[n-1].key = true, ""
			}
		case ':':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = false
			}
		case '"':
			end := stringEnd(text, i)
			isKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey
			if isKey {
				closed := end-1 > i && text[end-1] == '"'
				name := text[i+1 : end]
				if closed {
					name = text[i+1 : end-1]
					if u, err := strconv.Unquote(text[i:end]); err == nil {
						name = u
					}
				}
				if off > i && off <= end {
					sp := result()
					sp.onKey, sp.key, sp.from, sp.to = true, name, i, end
					return sp
				}
				stack[len(stack)-1].key = name
			} else if off > i && off < end {
				sp := result()
				sp.keyPlace = false
				return sp
			}
			i = end - 1
		}
	}
	return result()
}

// stringEnd is the offset just past the string that opens at i: past its
// closing quote, or its line's end when it is left open.
func stringEnd(text string, i int) int {
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		case '\n':
			return j
		}
	}
	return len(text)
}
