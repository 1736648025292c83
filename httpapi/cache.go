package httpapi

import (
	"strconv"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/lru"
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
// budget is in bytes, every form, key and piece of bookkeeping counted
// (a flood of distinct queries with tiny answers held 75 MB under a
// budget of 1 MiB when only the answers counted); once over it, the least
// recently used answers go first, so answers that name a past catalogue
// make way for current ones.
type answerCache struct {
	lru      *lru.Cache[forms]
	maxBytes int64

	hits, misses, evictions prometheus.Counter
	size                    prometheus.GaugeFunc
}

// forms are one answer by content coding (see codingForms), each in parts
// to write in turn; nil where not made yet.
type forms [len(codingForms)][]schema.Part

// codingForms are the codings an answer is kept in; "" is the JSON itself.
var codingForms = [...]string{"", "gzip", "zstd"}

func formOf(coding string) int {
	for i, c := range codingForms {
		if c == coding {
			return i
		}
	}
	return -1
}

func newAnswerCache(maxBytes int64) *answerCache {
	c := &answerCache{lru: lru.New[forms](maxBytes, 0), maxBytes: maxBytes}
	c.hits = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "answer_cache_hits_total",
		Help: "GraphQL answers served from the answer cache, any encoding."})
	c.misses = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "answer_cache_misses_total",
		Help: "GraphQL queries that the answer cache could not answer and that ran."})
	c.evictions = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "answer_cache_evictions_total",
		Help: "Answers dropped from the answer cache to keep it within server.answer_cache_bytes."})
	c.size = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "answer_cache_bytes",
		Help: "Bytes the answer cache holds, every encoding of every answer, its key and bookkeeping counted."},
		func() float64 { return float64(c.lru.Bytes()) })
	return c
}

// listCacheBytes shows what the parts of answers take: prepared queries,
// each filter's matches, rendered tasks and their compressed forms.
func listCacheBytes(lists *schema.ListCache) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "list_cache_bytes",
		Help: "Bytes kept to answer lists of tasks after a save (prepared queries, filter matches, rendered and compressed tasks, keys and bookkeeping), within server.answer_cache_bytes of their own."},
		func() float64 { return float64(lists.Bytes()) })
}

func (c *answerCache) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.hits, c.misses, c.evictions, c.size}
}

// get returns the answer in the coding asked for, if it is kept, and the
// answer itself, to compress when it is kept only uncompressed.
func (c *answerCache) get(key, coding string) (body, plain []schema.Part) {
	f, ok := c.lru.Get(key)
	if i := formOf(coding); ok && i >= 0 {
		body = f[i]
	}
	return body, f[0]
}

// put stores one form of an answer, evicting the least recently used
// answers to make room; a form larger than the whole budget is not kept.
func (c *answerCache) put(key, coding string, body []schema.Part) {
	i := formOf(coding)
	n := formBytes(body)
	if i < 0 || n > c.maxBytes {
		return
	}
	_, evicted := c.lru.Update(key, func(old forms, _ bool) (forms, int64, bool) {
		if old[i] != nil {
			return old, 0, false
		}
		var bytes int64
		old[i] = body
		for _, f := range old {
			bytes += formBytes(f)
		}
		return old, bytes, true
	})
	c.evictions.Add(float64(evicted))
}

// formBytes is what a form holds: its bytes and its list of parts.
func formBytes(parts []schema.Part) int64 {
	return int64(size(parts)) + int64(cap(parts))*int64(unsafe.Sizeof(schema.Part{}))
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
