package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// Metrics are the registry's Prometheus metrics. Figures that the snapshot
// already holds are read from it at scrape time; events are counted as
// they happen through registry.Hooks.
type Metrics struct {
	prom *prometheus.Registry

	reloads         *prometheus.CounterVec
	reloadSeconds   *prometheus.HistogramVec
	saveToSwap      prometheus.Histogram
	graphqlRequests *prometheus.CounterVec
	graphqlSeconds  prometheus.Histogram
	sourceFetches   *prometheus.CounterVec
	testCases       *prometheus.CounterVec
	testSeconds     prometheus.Histogram
	testQueue       prometheus.Gauge
	workerRestarts  *prometheus.CounterVec
}

// MetricsSources is what the scrape-time figures are read from: the
// snapshot, and how each source that follows files does it now
// (registry.SourceStatus.Watch).
type MetricsSources struct {
	Registry *registry.Registry
	Feed     *registry.Feed
}

const ns = "ratchet_registry"

// NewMetrics registers every metric, with Go and process metrics beside.
func NewMetrics(src MetricsSources) *Metrics {
	m := &Metrics{
		prom: prometheus.NewRegistry(),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "reloads_total",
			Help: "Loads of a source, by result: changed (a new snapshot), unchanged, failed."}, []string{"source", "result"}),
		reloadSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "reload_duration_seconds",
			Help: "Time to load a source and build the next snapshot.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"source"}),
		saveToSwap: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "save_to_swap_seconds",
			Help:    "Time from the first change seen on disk to the swap of the snapshot that shows it, debounce included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		graphqlRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "graphql_requests_total",
			Help: "GraphQL requests over plain HTTP, by status code."}, []string{"status"}),
		graphqlSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "graphql_request_duration_seconds",
			Help: "Time to answer a GraphQL request over plain HTTP.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}),
		sourceFetches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "source_fetches_total",
			Help: "Polls of remote sources (HTTP, git, OCI), by result: changed, unchanged (nothing new upstream), failed."}, []string{"source", "result"}),
	}
	m.testCases = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "test_cases_total",
		Help: "Test cases run, by result: PASSED, FAILED, ERROR, TIMEOUT."}, []string{"result"})
	m.testSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "test_case_duration_seconds",
		Help: "Time to run one test case in a worker, the trip to it included.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)})
	m.testQueue = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "test_queue_length",
		Help: "Task versions waiting for their tests to run."})
	m.workerRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "test_worker_restarts_total",
		Help: "Test worker processes replaced after they died or were killed, by reason."}, []string{"reason"})
	m.prom.MustRegister(m.testCases, m.testSeconds, m.testQueue, m.workerRestarts)
	m.prom.MustRegister(m.reloads, m.reloadSeconds, m.saveToSwap, m.graphqlRequests, m.graphqlSeconds, m.sourceFetches,
		&snapshotCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Hooks are the registry's reload hooks, counting into these metrics.
func (m *Metrics) Hooks() registry.Hooks {
	return registry.Hooks{
		Reload: func(source string, fetched bool, result string, took time.Duration) {
			m.reloads.WithLabelValues(source, result).Inc()
			m.reloadSeconds.WithLabelValues(source).Observe(took.Seconds())
			if fetched {
				m.sourceFetches.WithLabelValues(source, result).Inc()
			}
		},
		SaveToSwap: func(d time.Duration) { m.saveToSwap.Observe(d.Seconds()) },
	}
}

// TestCase counts one test case run.
func (m *Metrics) TestCase(result string, took time.Duration) {
	m.testCases.WithLabelValues(result).Inc()
	m.testSeconds.Observe(took.Seconds())
}

// TestQueue sets the number of task versions waiting for their tests.
func (m *Metrics) TestQueue(n int) { m.testQueue.Set(float64(n)) }

// WorkerRestarted counts a test worker replaced. The reason is cut to its
// kind ("memory limit", "killed", "timeout"), so that labels stay few.
func (m *Metrics) WorkerRestarted(reason string) {
	kind := "other"
	for _, k := range []string{"memory limit", "killed", "CPU limit", "canceled"} {
		if strings.HasPrefix(reason, k) {
			kind = k
		}
	}
	if strings.HasPrefix(reason, "ran longer") {
		kind = "timeout"
	}
	m.workerRestarts.WithLabelValues(kind).Inc()
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.prom, promhttp.HandlerOpts{Registry: m.prom})
}

// instrument counts plain GraphQL requests; streams are not requests that
// end, and are counted as subscribers instead.
func (m *Metrics) instrument(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsWebSocket(r) || wantsSSE(r) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		m.graphqlRequests.WithLabelValues(strconv.Itoa(status)).Inc()
		m.graphqlSeconds.Observe(time.Since(start).Seconds())
	})
}

// snapshotCollector reads the current snapshot at scrape time.
type snapshotCollector struct{ src MetricsSources }

var (
	descGeneration  = prometheus.NewDesc(ns+"_generation", "Generation of the snapshot served; grows by one with every change.", nil, nil)
	descTasks       = prometheus.NewDesc(ns+"_tasks", "Distinct tasks served.", nil, nil)
	descVersions    = prometheus.NewDesc(ns+"_task_versions", "Task versions served.", nil, nil)
	descErrors      = prometheus.NewDesc(ns+"_load_errors", "Load errors in the snapshot served.", nil, nil)
	descConflicts   = prometheus.NewDesc(ns+"_conflicts", "Task versions found more than once (the copies not served).", nil, nil)
	descSubscribers = prometheus.NewDesc(ns+"_subscribers", "Open subscriptions to the change feed.", nil, nil)
	descSource      = prometheus.NewDesc(ns+"_source_status", "1 for the status each source is in.", []string{"source", "status"}, nil)
	descWatchMode   = prometheus.NewDesc(ns+"_watcher_mode", "1 for the mode each filesystem source is watched in.", []string{"source", "mode"}, nil)
	descWatches     = prometheus.NewDesc(ns+"_watches", "Folders watched through inotify.", []string{"source"}, nil)
	descPolled      = prometheus.NewDesc(ns+"_polled_folders", "Folders polled: all of them in poll mode, those past the inotify limit in fsnotify mode.", []string{"source"}, nil)
	descPollRound   = prometheus.NewDesc(ns+"_poll_round_seconds", "How long the last round of the polled folders took: the longest a save in a folder unchanged for a while waits to be seen. 0 before a round is done.", []string{"source"}, nil)
)

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGeneration, descTasks, descVersions, descErrors, descConflicts, descSubscribers, descSource, descWatchMode, descWatches, descPolled, descPollRound} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Registry.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descGeneration, float64(s.Generation))
	gauge(descTasks, float64(s.TaskCount()))
	gauge(descVersions, float64(s.VersionCount()))
	gauge(descErrors, float64(s.ErrorCount()))
	gauge(descConflicts, float64(s.ConflictCount()))
	if c.src.Feed != nil {
		gauge(descSubscribers, float64(c.src.Feed.Subscribers()))
	}
	for _, st := range s.Sources() {
		for _, status := range []string{registry.StatusLoading, registry.StatusOK, registry.StatusDegraded, registry.StatusError} {
			v := 0.0
			if st.Status == status {
				v = 1
			}
			gauge(descSource, v, st.Name, status)
		}
	}
	for _, st := range s.Sources() {
		if w, ok := st.Watch(); ok {
			gauge(descWatchMode, 1, st.Name, w.Mode)
			gauge(descWatches, float64(w.Watches), st.Name)
			gauge(descPolled, float64(w.Polled), st.Name)
			gauge(descPollRound, w.PollRound.Seconds(), st.Name)
		}
	}
}
