package walk

import (
	"slices"
	"testing"
)

func TestOutermost(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
		want []string
	}{
		{"nested", []string{"a/b/c", "a", "a/b"}, []string{"a"}},
		{"siblings, repeated", []string{"b", "a", "b"}, []string{"a", "b"}},
		{"a prefix that is not a parent", []string{"ab/c", "a"}, []string{"a", "ab/c"}},
		{"the top", []string{"x/y", "."}, []string{"."}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Outermost(tc.keys); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
