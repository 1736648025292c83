package taskformat

import (
	"fmt"
	"strings"
)

// didYouMean names the known word closest to a misspelt one, as
// `: did you mean "label"?`, or returns "" when none is close: the same
// word in another case or with other separators (expectedOutput for
// expected_output), one within two edits, or the start of one, at least
// three letters long (desc for description).
func didYouMean(word string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		d := EditDistance(fold(word), fold(k))
		if len(fold(word)) >= 3 && strings.HasPrefix(fold(k), fold(word)) {
			d = min(d, 2)
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %q?", best)
}

// fold drops case and the separators that naming styles disagree on.
func fold(s string) string { return separators.Replace(strings.ToLower(s)) }

// separators is built once: a Replacer is safe for concurrent use and is
// never changed, and building one per call cost more than the rest of a
// load of a file with many unknown keys.
var separators = strings.NewReplacer("_", "", "-", "")

// EditDistance is the Levenshtein distance between two short words,
// counted in runes: the one measure of "did you mean" for task files and
// for the configuration file alike.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
