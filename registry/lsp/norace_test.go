//go:build !race

package lsp_test

var raceFlags []string
