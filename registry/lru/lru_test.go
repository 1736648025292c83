package lru

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// keys lists the cache's keys, most recently used first.
func keys[V any](c *Cache[V]) []string {
	var out []string
	c.Each(func(k string, _ V) bool { out = append(out, k); return true })
	return out
}

// TestCache: the least recently used go first, by bytes (keys and
// bookkeeping counted) and by number; a value over the whole budget is
// not kept and takes the one it replaces with it.
func TestCache(t *testing.T) {
	per := New[string](0, 0).Overhead("a") // every key here is one letter
	for _, tc := range []struct {
		name     string
		maxBytes int64 // beside the bookkeeping of maxKeys entries
		maxKeys  int64
		maxLen   int
		ops      []string // "key=bytes" puts ("over": one byte over the budget with its key), "get key" touches
		want     []string // most recent first
		evicted  int
	}{
		{"by bytes", 100, 2, 0, []string{"a=40", "b=40", "get a", "c=40"}, []string{"c", "a"}, 1},
		{"bookkeeping counts", 100, 2, 0, []string{"a=10", "b=10", "c=10"}, []string{"c", "b"}, 1},
		{"by number", 1000, 10, 2, []string{"a=1", "b=1", "c=1"}, []string{"c", "b"}, 1},
		{"replaced, not added", 100, 2, 0, []string{"a=40", "b=40", "a=50"}, []string{"a", "b"}, 0},
		{"replaced by more", 100, 2, 0, []string{"a=40", "b=40", "b=61"}, []string{"b"}, 1},
		{"too large alone", 100, 2, 0, []string{"a=40", "big=over"}, []string{"a"}, 0},
		{"too large in place of a kept one", 100, 2, 0, []string{"a=40", "b=40", "a=over"}, []string{"b"}, 0},
		{"one large value makes room for itself", 100, 1, 0, []string{"a=30", "b=30", "c=30", "d=90"}, []string{"d"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			budget := tc.maxBytes + tc.maxKeys*per
			c := New[string](budget, tc.maxLen)
			evicted := 0
			sizes := map[string]int64{}
			for _, op := range tc.ops {
				if k, ok := strings.CutPrefix(op, "get "); ok {
					if _, ok := c.Get(k); !ok {
						t.Fatalf("%s: not kept", op)
					}
					continue
				}
				k, n, _ := strings.Cut(op, "=")
				size, _ := strconv.ParseInt(n, 10, 64)
				if n == "over" {
					size = budget - c.Overhead(k) + 1
				}
				_, e := c.Put(k, op, size)
				sizes[k] = size
				evicted += e
			}
			if got := keys(c); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if evicted != tc.evicted {
				t.Errorf("got %d evicted, want %d", evicted, tc.evicted)
			}
			var sum int64
			c.Each(func(k string, _ string) bool {
				sum += sizes[k] + c.Overhead(k)
				return true
			})
			if c.Bytes() != sum || c.Len() != len(tc.want) {
				t.Errorf("got %d bytes in %d entries, want %d in %d", c.Bytes(), c.Len(), sum, len(tc.want))
			}
		})
	}
}

// TestUpdate: an update sees the value kept, and may leave it.
func TestUpdate(t *testing.T) {
	c := New[[]string](1<<10, 0)
	add := func(s string) func([]string, bool) ([]string, int64, bool) {
		return func(old []string, _ bool) ([]string, int64, bool) {
			if slices.Contains(old, s) {
				return nil, 0, false
			}
			return append(slices.Clone(old), s), int64(len(old) + 1), true
		}
	}
	for _, s := range []string{"gzip", "zstd", "gzip"} {
		c.Update("k", add(s))
	}
	if got, _ := c.Get("k"); !slices.Equal(got, []string{"gzip", "zstd"}) {
		t.Errorf("got %q, want [gzip zstd]", got)
	}
	if got, want := c.Bytes(), 2+c.Overhead("k"); got != want {
		t.Errorf("got %d bytes, want %d", got, want)
	}
}

// TestCacheHoldsItsBudget: many distinct keys with tiny values keep the
// heap the cache holds within its budget, keys and bookkeeping counted.
func TestCacheHoldsItsBudget(t *testing.T) {
	const budget = 1 << 20
	for _, tc := range []struct {
		name string
		key  func(i int) string
	}{
		{"short keys", func(i int) string { return strconv.Itoa(i) }},
		{"keys of 130 bytes", func(i int) string { return fmt.Sprintf("%065x%065x", i, i) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := New[[]byte](budget, 0)
			for i := range 200_000 {
				v := []byte(strconv.Itoa(i))
				c.Put(tc.key(i), v, int64(cap(v)))
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			if held > budget*5/4 || c.Bytes() > budget {
				t.Errorf("%d entries hold %d bytes of heap and count %d, for a budget of %d", c.Len(), held, c.Bytes(), budget)
			}
			runtime.KeepAlive(c)
		})
	}
}
