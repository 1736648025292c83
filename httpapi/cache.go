package httpapi

import (
	"container/list"
	"strconv"
	"sync"

	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// answerCache keeps rendered answers to queries. An answer is a pure
// function of the snapshot and the request, and dashboards send the same
// few queries again and again: only the first of each per generation pays
// for graphql-go's executor. Once full it forgets the least recently used
// answer, so answers of past generations make way for current ones.
type answerCache struct {
	mu         sync.Mutex
	lru        *list.List // of *answer, most recent first
	byKey      map[string]*list.Element
	bytes      int
	maxEntries int
	maxBytes   int
}

type answer struct {
	key  string
	body []byte
}

func newAnswerCache(maxEntries, maxBytes int) *answerCache {
	return &answerCache{lru: list.New(), byKey: map[string]*list.Element{}, maxEntries: maxEntries, maxBytes: maxBytes}
}

func cacheKey(gen int64, key string) string { return strconv.FormatInt(gen, 10) + "\x00" + key }

func (c *answerCache) get(gen int64, key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[cacheKey(gen, key)]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*answer).body, true
}

// put stores an answer, evicting the least recently used ones to make
// room; an answer larger than the whole cache is not kept.
func (c *answerCache) put(gen int64, key string, body []byte) {
	if len(body) > c.maxBytes {
		return
	}
	k := cacheKey(gen, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = c.lru.PushFront(&answer{key: k, body: body})
	c.bytes += len(body)
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		el := c.lru.Back()
		a := el.Value.(*answer)
		c.lru.Remove(el)
		delete(c.byKey, a.key)
		c.bytes -= len(a.body)
	}
}

// answerETag names an answer by what the catalogue holds and the request,
// never by this process's generation counter: replicas fed the same
// tasks give the same ETag, so a 304 from one stays valid on the next.
func answerETag(snap *registry.Snapshot, key string) string {
	return `W/"` + snap.ContentDigest()[:32] + "-" + key[:16] + `"`
}
