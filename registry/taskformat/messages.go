package taskformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// utf8BOM is the byte order mark that some Windows editors write first.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// metadataKeys are the fields of metadata.json that the registry reads;
// others are kept and ignored.
var metadataKeys = []string{"uuid", "version", "label", "name", "description", "tags"}

// explainJSONError turns encoding/json's wording into what a person would
// say, at the place where the fix goes: a missing comma is reported just
// after the value it should follow, not at the start of the next line.
func explainJSONError(data []byte, off int, err error) (int, error) {
	var se *json.SyntaxError
	if !errors.As(err, &se) || off < 0 || off >= len(data) {
		return off, fmt.Errorf("invalid JSON: %w", err)
	}
	msg := se.Error()
	prev := off - 1
	for prev >= 0 && strings.IndexByte(" \t\r\n", data[prev]) >= 0 {
		prev--
	}
	switch {
	case strings.Contains(msg, "after object key:value pair") || strings.Contains(msg, "after array element"):
		if prev >= 0 && (data[off] == '"' || data[off] == '{' || data[off] == '[' || isDigit(data[off]) || data[off] == '-' || data[off] == 't' || data[off] == 'f' || data[off] == 'n') {
			line, _ := lineCol(data, prev)
			return prev + 1, fmt.Errorf("missing comma after the value that ends on line %d", line)
		}
	case strings.Contains(msg, "looking for beginning of object key string") || strings.Contains(msg, "looking for beginning of value"):
		if prev >= 0 && data[prev] == ',' && (data[off] == '}' || data[off] == ']') {
			return prev, fmt.Errorf("trailing comma before %c: remove it, JSON allows none", data[off])
		}
		if data[off] == '\'' {
			return off, errors.New(`JSON strings take double quotes ("), not single quotes`)
		}
	}
	return off, fmt.Errorf("invalid JSON: %w", err)
}

// missingField reports a required field of metadata.json that is absent;
// when an unknown key is close to it, at that key, with the suggestion.
func (l *taskLoad) missingField(data []byte, fields map[string]json.RawMessage, key string) {
	for _, k := range objectKeys(data) {
		known := false
		for _, m := range metadataKeys {
			known = known || k.name == m
		}
		if known {
			continue
		}
		if hint := didYouMean(k.name, []string{key}); hint != "" {
			l.fail(metadataFile, registry.KindInvalid, data, k.off, fmt.Errorf("field %q is missing; found %q%s", key, k.name, hint))
			return
		}
	}
	l.fail(metadataFile, registry.KindInvalid, data, 0, fmt.Errorf("field %q is missing", key))
}

// explainScriptError rewords goja's messages that say least: an
// unterminated string is "Unexpected token ILLEGAL" at its opening quote.
func explainScriptError(data []byte, line, col int, msg string) string {
	if msg != "Unexpected token ILLEGAL" || line < 1 || col < 1 {
		return msg
	}
	start := 0
	for i := 1; i < line; i++ {
		nl := bytes.IndexByte(data[start:], '\n')
		if nl < 0 {
			return msg
		}
		start += nl + 1
	}
	if p := start + col - 1; p < len(data) && (data[p] == '"' || data[p] == '\'') {
		return fmt.Sprintf("unterminated string: the string that starts here has no closing %c on its line", data[p])
	}
	return msg
}
