package httpapi

import (
	"container/list"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/schema"
)

// DefaultAnswerCacheBytes holds the full `tasks` answer of 100,000 tasks
// (about 60 MiB with every field of the seed) with its compressed forms,
// and the few smaller answers that dashboards poll beside it.
const DefaultAnswerCacheBytes = 128 << 20

// answerCache keeps rendered answers to queries, each with the compressed
// forms asked for so far. An answer is a pure function of what its query
// can show (see shownKey) and the request, and dashboards send the same
// few queries again and again: only the first of each pays for the
// executor, and only the first of each encoding for its compression. The
// budget is in bytes, every form counted; once over it, the least
// recently used answers go first, so answers that name a past catalogue
// make way for current ones.
type answerCache struct {
	mu       sync.Mutex
	lru      *list.List // of *answer, most recent first
	byKey    map[string]*list.Element
	bytes    int64
	maxBytes int64

	hits, misses, evictions prometheus.Counter
	size                    prometheus.GaugeFunc
}

type answer struct {
	key   string
	forms map[string][]schema.Part // by content coding, in parts to write in turn; "" is the JSON itself
	bytes int64
}

func newAnswerCache(maxBytes int64) *answerCache {
	c := &answerCache{lru: list.New(), byKey: map[string]*list.Element{}, maxBytes: maxBytes}
	c.hits = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "answer_cache_hits_total",
		Help: "GraphQL answers served from the answer cache, any encoding."})
	c.misses = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "answer_cache_misses_total",
		Help: "GraphQL queries that the answer cache could not answer and that ran."})
	c.evictions = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "answer_cache_evictions_total",
		Help: "Answers dropped from the answer cache to keep it within server.answer_cache_bytes."})
	c.size = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "answer_cache_bytes",
		Help: "Bytes the answer cache holds, every encoding of every answer counted."}, func() float64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return float64(c.bytes)
	})
	return c
}

// listCacheBytes shows what the parts of answers take: prepared queries,
// each filter's matches, rendered tasks and their compressed forms.
func listCacheBytes(lists *schema.ListCache) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "list_cache_bytes",
		Help: "Bytes kept to answer lists of tasks after a save (prepared queries, filter matches, rendered and compressed tasks), within server.answer_cache_bytes of their own."},
		func() float64 { return float64(lists.Bytes()) })
}

func (c *answerCache) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.hits, c.misses, c.evictions, c.size}
}

// get returns the answer in the coding asked for, if it is kept, and the
// answer itself, to compress when it is kept only uncompressed.
func (c *answerCache) get(key, coding string) (body, plain []schema.Part) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, nil
	}
	c.lru.MoveToFront(el)
	a := el.Value.(*answer)
	return a.forms[coding], a.forms[""]
}

// put stores one form of an answer, evicting the least recently used
// answers to make room; a form larger than the whole budget is not kept.
func (c *answerCache) put(key, coding string, body []schema.Part) {
	n := int64(size(body))
	if n > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		el = c.lru.PushFront(&answer{key: key, forms: map[string][]schema.Part{}})
		c.byKey[key] = el
	}
	a := el.Value.(*answer)
	if _, ok := a.forms[coding]; ok {
		return
	}
	a.forms[coding] = body
	a.bytes += n
	c.bytes += n
	c.lru.MoveToFront(el)
	for c.bytes > c.maxBytes {
		el := c.lru.Back()
		old := el.Value.(*answer)
		c.lru.Remove(el)
		delete(c.byKey, old.key)
		c.bytes -= old.bytes
		c.evictions.Inc()
	}
}

// shownKey names what an answer to a request depends on besides the
// request itself: the catalogue, with its verdicts only when the request
// can show them, and the generation only when it can show that. So a
// verdict that moves ends only the answers that show verdicts, a save
// ends every answer, and two replicas with the same tasks name alike the
// answers that show nothing of their own.
func shownKey(snap *registry.Snapshot, query string, vars []byte) string {
	var k string
	if schema.ShowsVerdicts(query, vars) {
		k = snap.ContentDigest()
	} else {
		k = snap.CatalogueDigest()
	}
	if schema.ShowsGeneration(query, vars) {
		k += "-" + strconv.FormatInt(snap.Generation, 10)
	}
	return k
}

// answerETag names an answer by what it shows and the request, never by
// this process's generation counter unless the answer shows it: replicas
// fed the same tasks give the same ETag, so a 304 from one stays valid on
// the next. It is weak: the same answer is sent in several content
// codings, which a strong validator would have to tell apart.
func answerETag(shown, key string) string {
	return `W/"` + shown[:32] + shown[64:] + "-" + key[:16] + `"`
}

func size(parts []schema.Part) int {
	n := 0
	for _, p := range parts {
		n += len(p.Bytes)
	}
	return n
}
