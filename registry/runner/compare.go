package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// difference finds the first place where got and want differ as JSON
// values: object key order does not matter and numbers compare by value
// (10 equals 10.0). It returns the JSON pointer there and the two values
// rendered short, or ok when they are equal.
func difference(got, want json.RawMessage) (ptr, g, w string, ok bool) {
	gv, err1 := decodeNumbers(got)
	wv, err2 := decodeNumbers(want)
	if err1 != nil || err2 != nil {
		if bytes.Equal(got, want) {
			return "", "", "", true
		}
		return "", short(got), short(want), false
	}
	return diff("", gv, wv)
}

func decodeNumbers(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func diff(at string, got, want any) (string, string, string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, isObj := got.(map[string]any)
		if !isObj {
			break
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := at + "/" + escapePointer(k)
			gk, gok := g[k]
			wk, wok := w[k]
			switch {
			case !gok:
				return p, "nothing", render(wk), false
			case !wok:
				return p, render(gk), "nothing", false
			}
			if p, gs, ws, ok := diff(p, gk, wk); !ok {
				return p, gs, ws, false
			}
		}
		return "", "", "", true
	case []any:
		g, isArr := got.([]any)
		if !isArr {
			break
		}
		for i := 0; i < max(len(g), len(w)); i++ {
			p := at + "/" + strconv.Itoa(i)
			switch {
			case i >= len(g):
				return p, "nothing", render(w[i]), false
			case i >= len(w):
				return p, render(g[i]), "nothing", false
			}
			if p, gs, ws, ok := diff(p, g[i], w[i]); !ok {
				return p, gs, ws, false
			}
		}
		return "", "", "", true
	case json.Number:
		if g, isNum := got.(json.Number); isNum && sameNumber(g, w) {
			return "", "", "", true
		}
	default:
		if got == want {
			return "", "", "", true
		}
	}
	return at, render(got), render(want), false
}

func sameNumber(a, b json.Number) bool {
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	if !ok1 || !ok2 {
		return a == b
	}
	return x.Cmp(y) == 0
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return short(b)
}

// short keeps a message to one readable line.
func short(b []byte) string {
	const limit = 80
	s := string(b)
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
