package lsp

import (
	"testing"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// FuzzPlaces feeds the position arithmetic and the forgiving JSON locator
// what a client may send: any text, any place. None may panic, and every
// offset stays inside the text.
func FuzzPlaces(f *testing.F) {
	f.Add("{\n  \"input\": {},\n  \"exp\n}", uint32(2), uint32(6), 3, 4)
	f.Add("é😀\r\n\"\\", uint32(0), uint32(1), 1, 2)
	f.Add(`{"a": [{"b": "\"`, uint32(4000000000), uint32(4000000000), 9, 99)
	f.Fuzz(func(t *testing.T, text string, line, char uint32, l, c int) {
		off := offsetOf(text, protocol.Position{Line: line, Character: char})
		if off < 0 || off > len(text) {
			t.Fatalf("offsetOf gave %d for a text of %d bytes", off, len(text))
		}
		positionOf(text, off)
		sp := locate(text, off)
		if sp.onKey && (sp.from < 0 || sp.to > len(text) || sp.from > sp.to) {
			t.Fatalf("key span %d-%d outside the text of %d bytes", sp.from, sp.to, len(text))
		}
		for _, unit := range []columnUnit{unitRunes, unitBytes} {
			o := offsetOfLineCol(text, l, c, unit)
			if o < 0 || o > len(text) {
				t.Fatalf("offsetOfLineCol gave %d for a text of %d bytes", o, len(text))
			}
			if e := tokenEnd(text, o); e < o || e > len(text) {
				t.Fatalf("tokenEnd gave %d from %d in %d bytes", e, o, len(text))
			}
		}
		valueSpan(text, "uuid")
	})
}
