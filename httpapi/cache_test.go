package httpapi

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestAnswerCacheEvictsLeastRecentlyUsedByBytes: a full cache makes room
// by forgetting the answers used longest ago, counting every encoding of
// each; an answer over the whole budget is not kept, and the metrics
// count what happened.
func TestAnswerCacheEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	tests := []struct {
		name      string
		maxBytes  int64
		ops       []string // "key:coding:size" puts; "get key" touches
		want      []string // "key:coding" present afterwards
		gone      []string // keys gone in every coding
		evictions float64
	}{
		{"by bytes", 100, []string{"a::40", "b::40", "get a", "c::40"}, []string{"a:", "c:"}, []string{"b"}, 1},
		{"too large for the cache", 100, []string{"a::40", "big::101"}, []string{"a:"}, []string{"big"}, 0},
		{"many small answers fit", 100, []string{"a::10", "b::10", "c::10", "d::10", "e::10"}, []string{"a:", "e:"}, nil, 0},
		{"compressed forms count", 100, []string{"a::40", "a:gzip:10", "a:zstd:10", "b::40", "c::10"}, []string{"b:", "c:"}, []string{"a"}, 1},
		{"a compressed form touches its answer", 100, []string{"a::40", "b::40", "a:gzip:5", "c::16"}, []string{"a:gzip", "a:", "c:"}, []string{"b"}, 1},
		{"one large answer makes room for itself", 100, []string{"a::30", "b::30", "c::30", "d::90"}, []string{"d:"}, []string{"a", "b", "c"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newAnswerCache(tc.maxBytes)
			for _, op := range tc.ops {
				if k, ok := strings.CutPrefix(op, "get "); ok {
					c.get(k, "")
					continue
				}
				parts := strings.Split(op, ":")
				size, _ := strconv.Atoi(parts[2])
				c.put(parts[0], parts[1], []schema.Part{{Bytes: make([]byte, size)}})
			}
			for _, w := range tc.want {
				key, coding, _ := strings.Cut(w, ":")
				if body, _ := c.get(key, coding); body == nil {
					t.Errorf("%s: got nothing, want it cached", w)
				}
			}
			for _, g := range tc.gone {
				if body, plain := c.get(g, "gzip"); body != nil || plain != nil {
					t.Errorf("%s: got it cached, want it evicted", g)
				}
			}
			if c.bytes > tc.maxBytes {
				t.Errorf("got %d bytes, over the budget of %d", c.bytes, tc.maxBytes)
			}
			if got := testutil.ToFloat64(c.evictions); got != tc.evictions {
				t.Errorf("got %v evictions, want %v", got, tc.evictions)
			}
			if got := testutil.ToFloat64(c.size); got != float64(c.bytes) {
				t.Errorf("got answer_cache_bytes %v, want %d", got, c.bytes)
			}
		})
	}
}
