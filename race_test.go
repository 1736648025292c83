//go:build race

package main

// raceFlags build a binary under test as the test binary itself was
// built, so that go build finds every package already compiled in the
// build cache and only links.
var raceFlags = []string{"-race"}
