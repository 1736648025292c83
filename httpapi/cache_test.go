package httpapi

import (
	"strings"
	"testing"
)

// TestAnswerCacheEvictsLeastRecentlyUsed: a full cache makes room by
// forgetting the answer used longest ago, by count and by bytes; answers
// of a new generation are kept when old ones fill it.
func TestAnswerCacheEvictsLeastRecentlyUsed(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int
		puts       []string // "gen:key:size" in order; "get gen:key" touches
		want       []string // present afterwards
		gone       []string
	}{
		{"by count", 2, 1 << 20, []string{"1:a:1", "1:b:1", "get 1:a", "1:c:1"}, []string{"1:a", "1:c"}, []string{"1:b"}},
		{"by bytes", 10, 100, []string{"1:a:40", "1:b:40", "get 1:a", "1:c:40"}, []string{"1:a", "1:c"}, []string{"1:b"}},
		{"too large for the cache", 10, 100, []string{"1:a:40", "1:big:101"}, []string{"1:a"}, []string{"1:big"}},
		{"a new generation makes room", 2, 1 << 20, []string{"1:a:1", "1:b:1", "2:a:1", "2:b:1"}, []string{"2:a", "2:b"}, []string{"1:a", "1:b"}},
		{"three large answers do not fill it for good", 3, 100, []string{"1:a:50", "1:b:50", "1:c:50", "1:d:10"}, []string{"1:c", "1:d"}, []string{"1:a", "1:b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newAnswerCache(tc.maxEntries, tc.maxBytes)
			gk := func(s string) (int64, string) {
				parts := strings.Split(s, ":")
				return int64(parts[0][0] - '0'), parts[1]
			}
			for _, p := range tc.puts {
				if g, ok := strings.CutPrefix(p, "get "); ok {
					gen, key := gk(g)
					c.get(gen, key)
					continue
				}
				gen, key := gk(p)
				size := 0
				for _, ch := range strings.Split(p, ":")[2] {
					size = size*10 + int(ch-'0')
				}
				c.put(gen, key, make([]byte, size))
			}
			for _, w := range tc.want {
				if _, ok := c.get(gk(w)); !ok {
					t.Errorf("%s: got nothing, want it cached", w)
				}
			}
			for _, g := range tc.gone {
				if _, ok := c.get(gk(g)); ok {
					t.Errorf("%s: got it cached, want it evicted", g)
				}
			}
			if c.bytes > tc.maxBytes || c.lru.Len() > tc.maxEntries {
				t.Errorf("got %d bytes in %d entries, over the limits", c.bytes, c.lru.Len())
			}
		})
	}
}
