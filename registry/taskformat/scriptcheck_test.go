package taskformat

import (
	"testing"

	"github.com/dop251/goja/parser"
)

func TestScriptValue(t *testing.T) {
	for _, tc := range []struct {
		script string
		ok     bool
	}{
		{"(function(input) { return input; })", true},
		{"(input) => input", true},
		{"async function main(input) { return input; }\nvar unrelated = 2;", true},
		{"var main = make();", true},
		{"const helper = 1;\n(function(input) { return helper; })\n;", true},
		{"make()", true},                     // known only by running it
		{"if (x) { (function() {}) }", true}, // likewise
		{"main = function(input) {};", true}, // an assignment: its value is the function
		{"var x = 1;", false},                // no value at all
		{"function helper() {}", false},      // declarations give no value
		{"'use strict';", false},             // a string
		{"(function() {});\n42;", false},     // the last value wins
		{"({main: function() {}})", false},   // an object, not a function
	} {
		prog, err := parser.ParseFile(nil, "main.js", tc.script, 0)
		if err != nil {
			t.Fatalf("%q: %v", tc.script, err)
		}
		if _, ok := scriptValue(prog); ok != tc.ok {
			t.Errorf("%q: got %v, want %v", tc.script, ok, tc.ok)
		}
	}
}
