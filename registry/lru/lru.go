// Package lru keeps values by key within a byte budget, the value used
// longest ago out first.
//
// The budget covers all the cache holds, not only what its owner says a
// value takes: each entry's key and bookkeeping (its place in the list,
// its map slot) count too. Counting values alone, a flood of distinct
// requests with tiny answers held 75 MB under a budget of 1 MiB, each
// answer's key and bookkeeping many times its bytes.
package lru

import (
	"sync"
	"unsafe"
)

// Cache is safe for concurrent use. The zero value is not: use New.
type Cache[V any] struct {
	mu       sync.Mutex
	byKey    map[string]*entry[V]
	root     entry[V] // root.next is the most recently used, root.prev the least
	len      int
	bytes    int64
	maxBytes int64
	maxLen   int
	overhead int64
}

type entry[V any] struct {
	prev, next *entry[V]
	key        string
	value      V
	bytes      int64 // all it holds, as counted
}

// mapSlot is what one entry takes in a Go map from strings to pointers:
// the key's header and the pointer (24 bytes), a control byte, over a
// load factor that is as low as 7/16 just after the map grows.
const mapSlot = 64

// New makes a cache of at most maxBytes, and at most maxLen entries when
// maxLen > 0.
func New[V any](maxBytes int64, maxLen int) *Cache[V] {
	c := &Cache[V]{byKey: map[string]*entry[V]{}, maxBytes: maxBytes, maxLen: maxLen}
	c.root.next, c.root.prev = &c.root, &c.root
	// The entry, rounded up as the allocator rounds it, and its map slot.
	c.overhead = (int64(unsafe.Sizeof(entry[V]{}))+15)/16*16 + mapSlot
	return c
}

// Overhead is what an entry under key costs the budget besides its value.
func (c *Cache[V]) Overhead(key string) int64 { return c.overhead + int64(len(key)) }

// Get returns the value under key, and makes it the most recently used.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.toFront(e)
	return e.value, true
}

// Put keeps value under key, counted as bytes beside its key and
// bookkeeping, in place of what was kept there, and returns how many
// other entries were evicted to make room. A value that alone would be
// over the budget is not kept (nor is the one it replaces): it would
// push out every other for itself.
func (c *Cache[V]) Put(key string, value V, bytes int64) (kept bool, evicted int) {
	return c.Update(key, func(V, bool) (V, int64, bool) { return value, bytes, true })
}

// Update is Put of what f makes of the value kept under key (ok false
// when there is none), under one lock: two updates of one key both
// count. f runs with the cache locked, so it must be quick; keep false
// leaves the cache as it was.
func (c *Cache[V]) Update(key string, f func(old V, ok bool) (value V, bytes int64, keep bool)) (kept bool, evicted int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, had := c.byKey[key]
	var oldValue V
	if had {
		oldValue = old.value
	}
	value, bytes, keep := f(oldValue, had)
	if !keep {
		return had, 0
	}
	bytes += c.Overhead(key)
	if had {
		c.remove(old)
	}
	if bytes > c.maxBytes {
		return false, 0
	}
	e := &entry[V]{key: key, value: value, bytes: bytes}
	if had {
		e.key = old.key // the key kept already, not the caller's copy
	}
	c.byKey[e.key] = e
	c.pushFront(e)
	c.len++
	c.bytes += bytes
	for c.bytes > c.maxBytes || (c.maxLen > 0 && c.len > c.maxLen) {
		c.remove(c.root.prev)
		evicted++
	}
	return true, evicted
}

// Bytes is what the cache holds, as its budget counts it.
func (c *Cache[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len is the number of entries.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.len
}

// Each calls f with every entry, most recently used first, with the cache
// locked, until f returns false.
func (c *Cache[V]) Each(f func(key string, value V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.root.next; e != &c.root; e = e.next {
		if !f(e.key, e.value) {
			return
		}
	}
}

func (c *Cache[V]) remove(e *entry[V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.byKey, e.key)
	c.len--
	c.bytes -= e.bytes
}

func (c *Cache[V]) pushFront(e *entry[V]) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
}

func (c *Cache[V]) toFront(e *entry[V]) {
	if c.root.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	c.pushFront(e)
}
