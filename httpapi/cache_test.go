package httpapi

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// TestAnswerCacheEvictsLeastRecentlyUsedByBytes: a full cache makes room
// by forgetting the answers used longest ago, counting every encoding of
// each, its key and bookkeeping; an answer over the whole budget is not
// kept, and the metrics count what happened.
func TestAnswerCacheEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	tests := []struct {
		name      string
		maxBytes  int64 // of answers' bytes, beside the bookkeeping of room answers of one form
		room      int64
		ops       []string // "key:coding:size" puts (over: the budget with its bookkeeping, and one byte); "get key" touches
		want      []string // "key:coding" present afterwards
		gone      []string // keys gone in every coding
		evictions float64
	}{
		{"by bytes", 100, 2, []string{"a::40", "b::40", "get a", "c::40"}, []string{"a:", "c:"}, []string{"b"}, 1},
		{"too large for the cache", 100, 2, []string{"a::40", "big::over"}, []string{"a:"}, []string{"big"}, 0},
		{"many small answers fit", 100, 5, []string{"a::10", "b::10", "c::10", "d::10", "e::10"}, []string{"a:", "e:"}, nil, 0},
		{"keys and bookkeeping count", 100, 2, []string{"a::10", "b::10", "c::10"}, []string{"b:", "c:"}, []string{"a"}, 1},
		{"compressed forms count", 100, 3, []string{"a::40", "a:gzip:10", "a:zstd:10", "b::40", "c::10"}, []string{"b:", "c:"}, []string{"a"}, 1},
		{"a compressed form touches its answer", 100, 3, []string{"a::40", "b::40", "a:gzip:5", "c::16"}, []string{"a:gzip", "a:", "c:"}, []string{"b"}, 1},
		{"one large answer makes room for itself", 100, 1, []string{"a::30", "b::30", "c::30", "d::90"}, []string{"d:"}, []string{"a", "b", "c"}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// An answer of one form of one part under a one-letter key.
			room := newAnswerCache(0).lru.Overhead("a") + formBytes(make([]schema.Part, 1))
			budget := tc.maxBytes + tc.room*room
			c := newAnswerCache(budget)
			for _, op := range tc.ops {
				if k, ok := strings.CutPrefix(op, "get "); ok {
					c.get(k, "")
					continue
				}
				parts := strings.Split(op, ":")
				size, _ := strconv.Atoi(parts[2])
				if parts[2] == "over" {
					size = int(budget-room) + 1
				}
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
			if got := c.lru.Bytes(); got > budget {
				t.Errorf("got %d bytes, over the budget of %d", got, budget)
			}
			if got := testutil.ToFloat64(c.evictions); got != tc.evictions {
				t.Errorf("got %v evictions, want %v", got, tc.evictions)
			}
			if got, want := testutil.ToFloat64(c.size), c.lru.Bytes(); got != float64(want) {
				t.Errorf("got answer_cache_bytes %v, want %d", got, want)
			}
		})
	}
}

// TestAnswerCacheHoldsItsBudget: many distinct queries with tiny answers
// (`{a1: __typename}`, `{a2: __typename}`, ...) keep the heap the cache
// holds within server.answer_cache_bytes, keys and bookkeeping counted,
// and its gauge says what it holds. Counting only the answers' bytes, a
// 1 MiB budget held 75 MB in the real binary (39,000 answers of 31
// bytes, each with a 130-byte key, a list element, a map entry and a map
// of forms), while the gauge said 1 MiB.
func TestAnswerCacheHoldsItsBudget(t *testing.T) {
	const budget = 256 << 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := newAnswerCache(budget)
	for i := range 100_000 {
		key := fmt.Sprintf("%064x%064x", i, i) // as long as shownKey and requestKey
		c.put(key, "", []schema.Part{{Bytes: fmt.Appendf(nil, `{"data":{"a%d":"Query"}}`, i)}})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if held > budget*5/4 {
		t.Errorf("the cache holds %d bytes of heap (%d answers) for a budget of %d bytes", held, c.lru.Len(), budget)
	}
	if got := testutil.ToFloat64(c.size); got > budget || got < budget*9/10 {
		t.Errorf("got answer_cache_bytes %v, want what a full cache holds, at most %d", got, budget)
	}
	runtime.KeepAlive(c)
}
