package httpapi

import (
	"iter"
	"strings"
)

// maxListItems is how many items of a list header (Accept,
// Accept-Encoding, If-None-Match, Connection, Upgrade) are read. A client
// names a handful; a header is up to net/http's 1 MiB of the client's
// choosing. Items past it are taken as absent: a conditional request then
// gets a 200 and its full answer, a negotiation what the first items
// allow.
const maxListItems = 64

// listItems yields the items of a comma-separated header (RFC 9110
// section 5.6.1), trimmed, empty ones skipped, at most maxListItems of
// them. A comma inside a quoted string (an entity tag, a parameter's
// value) does not end an item. It allocates nothing: the items are
// slices of the header.
func listItems(header string) iter.Seq[string] {
	return func(yield func(string) bool) {
		n := 0
		for n < maxListItems {
			// Runs of empty items are skipped in one tight loop: a
			// megabyte of commas is a million of them.
			header = strings.TrimLeft(header, ", \t")
			if header == "" {
				return
			}
			end := itemEnd(header)
			item := strings.TrimSpace(header[:end])
			header = header[min(end+1, len(header)):]
			if item == "" {
				continue
			}
			n++
			if !yield(item) {
				return
			}
		}
	}
}

// itemEnd is the index of the comma that ends the first item of s, or
// len(s).
func itemEnd(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			return i
		}
	}
	return len(s)
}

// splitItem parts an item into its value (a media range, a coding), and
// whether its weight is zero: q=0, q=0.0 and so on, the parameter's name
// in any case (RFC 9110 section 12.4.2), wherever it comes among the
// parameters.
func splitItem(item string) (value string, refused bool) {
	value, params, _ := strings.Cut(item, ";")
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, weight, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "q") {
			refused = zeroWeight(strings.TrimSpace(weight))
			break
		}
	}
	return strings.TrimSpace(value), refused
}

// zeroWeight reads a qvalue: "0" followed by an optional "." and zeros.
func zeroWeight(q string) bool {
	rest, ok := strings.CutPrefix(q, "0")
	if !ok {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "."); ok {
		return strings.Trim(rest, "0") == ""
	}
	return rest == ""
}
