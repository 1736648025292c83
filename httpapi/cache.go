package httpapi

import (
	"sync"
)

// answerCache keeps rendered answers to queries over the current snapshot.
// An answer is a pure function of the snapshot and the request, and
// dashboards send the same few queries again and again: only the first of
// each per generation pays for graphql-go's executor.
type answerCache struct {
	mu         sync.Mutex
	generation int64
	entries    map[string][]byte
	bytes      int
	maxEntries int
	maxBytes   int
}

func newAnswerCache(maxEntries, maxBytes int) *answerCache {
	return &answerCache{entries: map[string][]byte{}, maxEntries: maxEntries, maxBytes: maxBytes}
}

func (c *answerCache) get(gen int64, key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.generation {
		return nil, false
	}
	b, ok := c.entries[key]
	return b, ok
}

// put stores an answer; a new generation empties the cache first, and a
// full cache takes nothing more until the next generation.
func (c *answerCache) put(gen int64, key string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.generation {
		return
	}
	if gen > c.generation {
		c.generation, c.entries, c.bytes = gen, map[string][]byte{}, 0
	}
	if len(c.entries) >= c.maxEntries || c.bytes+len(body) > c.maxBytes {
		return
	}
	c.entries[key] = body
	c.bytes += len(body)
}
