package lsp

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// LSP counts characters in UTF-16 code units; the loader counts lines and
// columns from 1, its columns in characters (JSON files) or bytes (goja's
// positions in main.js). These turn one into the other against the text
// they are about. Every position that a client sends is clamped into the
// text: a hostile one never indexes out of it.

// lineStart is the byte offset where 0-based line starts, or len(text)
// when the text has fewer lines.
func lineStart(text string, line int) int {
	off := 0
	// Blocks of whole lines are skipped by counting their ends, which the
	// standard library does many bytes at a time: found one at a time, a
	// text of 5 MiB of empty lines cost a call per line, 50 ms a place,
	// and a client sends thousands of places in a message.
	const block = 4096
	for line > 0 && len(text)-off > block {
		n := strings.Count(text[off:off+block], "\n")
		if n >= line {
			break
		}
		line -= n
		off += block
	}
	for ; line > 0; line-- {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	return off
}

// lineAt is the text of the line that starts at off, without its end.
func lineAt(text string, off int) string {
	line, _, _ := strings.Cut(text[off:], "\n")
	return strings.TrimSuffix(line, "\r")
}

// offsetOf turns an LSP position into a byte offset in text. A character
// past the line's end is the end, as the protocol says.
func offsetOf(text string, p protocol.Position) int {
	start := lineStart(text, int(min(p.Line, uint32(len(text)))))
	line := lineAt(text, start)
	units := int(p.Character)
	for i, r := range line {
		if units <= 0 {
			return start + i
		}
		units -= utf16.RuneLen(max(r, 0))
		if units < 0 { // inside a surrogate pair: the character's start
			return start + i
		}
	}
	return start + len(line)
}

// positionOf turns a byte offset in text into an LSP position.
func positionOf(text string, off int) protocol.Position {
	off = max(0, min(off, len(text)))
	line := strings.Count(text[:off], "\n")
	start := strings.LastIndexByte(text[:off], '\n') + 1
	return protocol.Position{Line: uint32(line), Character: uint32(utf16Len(text[start:off]))}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(max(r, 0))
	}
	return n
}

// columnUnit is what the loader's column counts.
type columnUnit int

const (
	unitRunes columnUnit = iota // lineCol over JSON and the script scan
	unitBytes                   // goja's positions in main.js
)

// offsetOfLineCol turns the loader's 1-based line and column into a byte
// offset; line 0 (no place known) is the start of the file.
func offsetOfLineCol(text string, line, col int, unit columnUnit) int {
	if line <= 0 {
		return 0
	}
	start := lineStart(text, line-1)
	l := lineAt(text, start)
	if col <= 1 {
		return start
	}
	if unit == unitBytes {
		return start + min(col-1, len(l))
	}
	n := 0
	for i := range l {
		if n == col-1 {
			return start + i
		}
		n++
	}
	return start + len(l)
}

// tokenEnd is where the token that starts at off ends, for a range that
// underlines the whole key or value: a string to its closing quote, a
// word or number to its end, else one character. It never passes the line.
func tokenEnd(text string, off int) int {
	if off >= len(text) {
		return off
	}
	line := lineAt(text, off)
	if len(line) == 0 {
		return off
	}
	switch c := line[0]; {
	case c == '"':
		for i := 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return off + i + 1
			}
		}
		return off + len(line)
	case isWord(c):
		i := 1
		for i < len(line) && isWord(line[i]) {
			i++
		}
		return off + i
	}
	_, size := utf8.DecodeRuneInString(line)
	return off + size
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c == '-' || c == '.' || c == '+' ||
		c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// rangeOf is the LSP range of the bytes [from, to) of text.
func rangeOf(text string, from, to int) protocol.Range {
	return protocol.Range{Start: positionOf(text, from), End: positionOf(text, to)}
}
