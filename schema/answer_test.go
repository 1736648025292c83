package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONStringLen: the count of a string is what encoding/json writes,
// escapes included, or an answer of "<" would pass the limit six times
// over.
func TestJSONStringLen(t *testing.T) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<script>&</script>", "tab\tnew\nline\r", "\x00\x01\x1f", "é ü 日本", "\u2028\u2029", "bad \xff\xfe utf-8", strings.Repeat("<", 1000)} {
		want, _ := json.Marshal(s)
		if got := jsonStringLen(s); got != len(want) {
			t.Errorf("%q: got %d, want %d", s, got, len(want))
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"short", 0, "short"},
		{"exactly", 7, "exactly"},
		{"abcdefgh", 3, "abc… (5 more bytes)"},
		{"aé", 2, "a… (2 more bytes)"}, // never half a character
	}
	for _, tc := range tests {
		if got := truncate(tc.s, tc.max); got != tc.want {
			t.Errorf("truncate(%q, %d): got %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}
