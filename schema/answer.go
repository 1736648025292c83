package schema

import (
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/graphql-go/graphql"
)

// The answer is counted as it is built: every field, as its resolver
// returns, charges what it will take in the JSON answer (its key and its
// value as encoding/json writes them). A request whose answer passes
// Limits.MaxAnswerBytes is stopped at that field, with the rest of its
// resolvers returning at once, so that memory stays near the limit
// however large the values the catalogue holds (messages of failed
// tests, schemas, scripts) and however many of them a query asks for.

// answerCost is what a field adds to the answer: its key, quoted, with a
// colon and a comma, and its value.
func answerCost(p graphql.ResolveParams, v any) int {
	key := p.Info.FieldName
	if fs := p.Info.FieldASTs; len(fs) > 0 && fs[0].Alias != nil {
		key = fs[0].Alias.Value
	}
	return len(key) + 4 + valueCost(v)
}

// valueCost is the size of a resolved value in the answer. Objects and
// lists count their punctuation only: their fields and items charge for
// themselves as they resolve.
func valueCost(v any) int {
	switch v := v.(type) {
	case nil:
		return len("null")
	case string:
		return jsonStringLen(v)
	case json.RawMessage:
		return len(v)
	case []string:
		n := 2
		for _, s := range v {
			n += jsonStringLen(s) + 1
		}
		return n
	case bool:
		return len("false")
	case int, int32, int64, float64:
		return 24 // the longest a number is written
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String: // enums
		return jsonStringLen(rv.String())
	case reflect.Slice, reflect.Array:
		return 2 + rv.Len()
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return len("null")
		}
	}
	return 2
}

// jsonStringLen is the length of s as encoding/json writes it: quoted,
// with HTML-sensitive characters, control characters, U+2028, U+2029 and
// invalid UTF-8 escaped. A message of "<" is six times its length there.
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// truncate cuts s to at most max bytes, on a character boundary, and says
// how much it left out; max <= 0 keeps s whole.
func truncate(s string, maxBytes int) string {
	if maxBytes <= 0 || len(s) <= maxBytes {
		return s
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(s)-cut) + " more bytes)"
}
