package lsp

import (
	"testing"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

func TestPositions(t *testing.T) {
	text := "ab\r\né😀x\nlast"
	for _, tc := range []struct {
		name      string
		pos       protocol.Position
		off       int
		roundTrip bool
	}{
		{"start", protocol.Position{Line: 0, Character: 0}, 0, true},
		{"before CR", protocol.Position{Line: 0, Character: 2}, 2, true},
		{"past the line's end", protocol.Position{Line: 0, Character: 99}, 2, false},
		{"after é", protocol.Position{Line: 1, Character: 1}, 6, true},
		{"inside the surrogate pair", protocol.Position{Line: 1, Character: 2}, 6, false},
		{"after the emoji", protocol.Position{Line: 1, Character: 3}, 10, true},
		{"last line", protocol.Position{Line: 2, Character: 4}, len(text), true},
		{"past the last line", protocol.Position{Line: 4000000000, Character: 4000000000}, len(text), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := offsetOf(text, tc.pos); got != tc.off {
				t.Fatalf("offsetOf: got %d, want %d", got, tc.off)
			}
			if got := positionOf(text, tc.off); tc.roundTrip && got != tc.pos {
				t.Fatalf("positionOf: got %+v, want %+v", got, tc.pos)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		off        int
		path       []string
		onKey      bool
		key        string
		keyPlace   bool
	}{
		{"a key being typed", "{\n  \"input\": {},\n  \"exp\n}", 21, nil, true, "exp", true},
		{"after a comma", `{"input": 1, `, 13, nil, false, "", true},
		{"in a value", `{"input": "abc"}`, 12, nil, false, "", false},
		{"nested, through an array", `{"mock": {"http": [{"url": "x", "`, 34, []string{"mock", "http", "[]"}, true, "", true},
		{"on a closed key", `{"mock": {"http": {}}}`, 13, []string{"mock"}, true, "http", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := locate(tc.text, tc.off)
			if len(sp.path) != len(tc.path) || sp.onKey != tc.onKey || sp.key != tc.key || sp.keyPlace != tc.keyPlace {
				t.Fatalf("got path %q onKey %v key %q keyPlace %v, want %q %v %q %v",
					sp.path, sp.onKey, sp.key, sp.keyPlace, tc.path, tc.onKey, tc.key, tc.keyPlace)
			}
			for i := range tc.path {
				if sp.path[i] != tc.path[i] {
					t.Fatalf("got path %q, want %q", sp.path, tc.path)
				}
			}
		})
	}
}
