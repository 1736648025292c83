//go:build race

package lsp_test

// raceFlags build the binary under test with the race detector when the
// tests run with it, so that the server's own goroutines are checked too.
var raceFlags = []string{"-race"}
