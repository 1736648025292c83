package taskformat

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// The schema validator takes a document as map[string]any, []any,
// string, json.Number, bool and nil. jsonschema.UnmarshalJSON builds
// them through encoding/json at 50 to 80 times the text (a decoder's
// buffer, slices grown by doubling, a string and a box for every
// number): a test file of two million 1s took 210 MB to check. decodeJSON
// builds the same values from one copy of the text, every slice and map
// at its final size, measured first, so that what it will take is known
// before it is spent.

// maxValueDepth is encoding/json's own bound on nesting, past which
// UnmarshalJSON fails: such text is left to it, for the same error.
const maxValueDepth = 10000

// Estimates of what the values take, in bytes, on a 64-bit Go: a slot of
// a slice or an interface's box is 16; a map is a header and groups of 8
// slots of 32 bytes and 8 control bytes, filled to 7 of 8.
const (
	boxBytes      = 16
	sliceBytes    = 24
	mapBytes      = 48 + 64
	mapGroupBytes = 8 + 8*32
)

// jsonShape is what measureJSON finds: the members of each object and
// array in the order they open, and what their values and their check
// will take.
type jsonShape struct {
	depth int // how deep it measured
	sizes []int32
	cost  int64
}

// measureJSON sizes the values of valid JSON text without building them,
// down to the depth the schema reads, and counts what checking them will
// take. Deeper values are skipped: decodeJSON makes them nil. It stops
// once the count passes limit (0: no limit), with a shape unfit to decode.
func measureJSON(data []byte, reach schemaReach, limit int64) jsonShape {
	depth := reach.depth
	sh := jsonShape{depth: depth}
	sh.cost = int64(len(data)) // the copy of the text that strings share
	type open struct {
		at  int
		obj bool
	}
	var stack []open
	empty := false // the innermost open container has no member yet
	key := false   // the next string is an object's key
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case ' ', '\t', '\r', '\n', ':':
			continue
		case ',':
			top := stack[len(stack)-1]
			sh.sizes[top.at]++
			key = top.obj
			continue
		case '}', ']':
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if empty {
				sh.sizes[top.at] = 0
			}
			empty = false
			sh.cost += containerCost(int(sh.sizes[top.at]), top.obj)
			if limit > 0 && sh.cost > limit {
				return sh
			}
			continue
		}
		empty = false
		isKey := key
		key = false
		if !isKey {
			if len(stack) > depth {
				i = skipJSONValue(data, i) - 1
				continue
			}
			sh.cost += reach.applied(len(stack)) * applyBytes
			if limit > 0 && sh.cost > limit {
				return sh
			}
		}
		switch c {
		case '{', '[':
			stack = append(stack, open{len(sh.sizes), c == '{'})
			sh.sizes = append(sh.sizes, 1)
			sh.cost += 4
			empty = true
			key = c == '{'
		case '"':
			end := skipJSONString(data, i)
			sh.cost += boxBytes
			if bytes.IndexByte(data[i+1:end], '\\') >= 0 {
				sh.cost += int64(end - i)
			}
			i = end
		case 't', 'f', 'n':
			// Booleans and nil take no memory of their own.
		default:
			start := i
			for i+1 < len(data) && isNumberByte(data[i+1]) {
				i++
			}
			if _, ok := smallInt(data[start : i+1]); !ok {
				sh.cost += boxBytes
			}
		}
	}
	return sh
}

// containerCost estimates an object or array of n members, apart from
// the members' own values. Empty ones are shared.
func containerCost(n int, obj bool) int64 {
	if n == 0 {
		return 0
	}
	if !obj {
		return sliceBytes + boxBytes*int64(n)
	}
	groups := int64(1)
	for groups*7 < int64(n) {
		groups *= 2
	}
	return mapBytes + groups*mapGroupBytes
}

// valueDecoder builds the validator's values from valid JSON text.
type valueDecoder struct {
	data        []byte
	text        string // data, copied once: strings and numbers without escapes are slices of it
	sizes       []int32
	next        int // the next of sizes to use
	depth       int // values deeper are nil: no schema looks at them
	pos         int
	emptyObject map[string]any // shared by every {}: the validator never writes to a value
	emptyArray  any
}

// decodeJSON decodes valid JSON text, measured by measureJSON, into the
// values jsonschema.UnmarshalJSON would make, down to the depth measured.
func decodeJSON(data []byte, sh jsonShape) any {
	d := &valueDecoder{data: data, text: string(data), sizes: sh.sizes, depth: sh.depth, emptyObject: map[string]any{}, emptyArray: []any{}}
	return d.value(0)
}

// value decodes the value at pos, at depth from the top.
func (d *valueDecoder) value(depth int) any {
	d.pos = skipSpace(d.data, d.pos)
	if depth > d.depth {
		d.pos = skipJSONValue(d.data, d.pos)
		return nil
	}
	switch c := d.data[d.pos]; c {
	case '{':
		n := d.sizes[d.next]
		d.next++
		d.pos = skipSpace(d.data, d.pos+1)
		if n == 0 {
			d.pos++
			return d.emptyObject
		}
		m := make(map[string]any, n)
		for range n {
			d.pos = skipSpace(d.data, d.pos)
			k := d.string()
			d.pos = skipSpace(d.data, d.pos) + 1 // the colon
			m[k] = d.value(depth + 1)
			d.pos = skipSpace(d.data, d.pos) + 1 // the comma or the brace
		}
		return m
	case '[':
		n := d.sizes[d.next]
		d.next++
		d.pos = skipSpace(d.data, d.pos+1)
		if n == 0 {
			d.pos++
			return d.emptyArray
		}
		a := make([]any, n)
		for i := range a {
			a[i] = d.value(depth + 1)
			d.pos = skipSpace(d.data, d.pos) + 1 // the comma or the bracket
		}
		return a
	case '"':
		return d.string()
	case 't':
		d.pos += len("true")
		return true
	case 'f':
		d.pos += len("false")
		return false
	case 'n':
		d.pos += len("null")
		return nil
	default:
		start := d.pos
		for d.pos < len(d.data) && isNumberByte(d.data[d.pos]) {
			d.pos++
		}
		if n, ok := smallInt(d.data[start:d.pos]); ok {
			return n
		}
		return json.Number(d.text[start:d.pos])
	}
}

// string reads the string at pos.
func (d *valueDecoder) string() string {
	end := skipJSONString(d.data, d.pos)
	start := d.pos
	d.pos = end + 1
	s := d.text[start+1 : end]
	if bytes.IndexByte(d.data[start+1:end], '\\') < 0 && utf8.ValidString(s) {
		return s
	}
	// Escapes, or bytes encoding/json would replace: its own decoding.
	var out string
	_ = json.Unmarshal(d.data[start:end+1], &out)
	return out
}

// smallInt reads a number token written as an integer from 0 to 255.
// The validator reads every number through its text (fmt.Sprint, then
// big.Rat), so an int of the same digits is the same number to it, and
// one under 256 is boxed without an allocation, where a json.Number
// takes 16 bytes.
func smallInt(tok []byte) (int, bool) {
	if len(tok) == 0 || len(tok) > 3 || (tok[0] == '0' && len(tok) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range tok {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n < 256
}
