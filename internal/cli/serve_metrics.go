package cli

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sharestore/sharestore"
	"github.com/sharestore/sharestore/crawler"
	"github.com/sharestore/sharestore/plugin"
)

// metricsHandler serves /metrics: the Go and process collectors and the
// crawlers' metrics, read from their state at each scrape.
func (d *daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newCrawlerCollector(d), d.requests.count, d.requests.duration, d.requests.retries, d.requests.tx, d.requests.txFailed)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// desc makes a metric description named sharestore_NAME.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("sharestore_"+name, help, labels, nil)
}

// Crawler metrics. Gauges describe where each crawler is and what its
// last complete cycle found; the _total counters sum what the
// accounting crawler did while this process ran.
var (
	descCycle           = desc("crawler_cycle", "The cycle in progress, or else the last one completed.", "crawler")
	descInProgress      = desc("crawler_cycle_in_progress", "1 while a cycle runs, 0 between cycles.", "crawler")
	descPrefixes        = desc("crawler_prefixes_complete", "Prefixes completed in the cycle in progress (of 1024).", "crawler")
	descFailedPrefixes  = desc("crawler_failed_prefixes", "Prefixes that failed for good in the cycle in progress, or in the last one between cycles.", "crawler")
	descCycleStart      = desc("crawler_cycle_start_timestamp_seconds", "When the cycle in progress started, in seconds since the epoch.", "crawler")
	descLastEnd         = desc("crawler_last_cycle_end_timestamp_seconds", "When the last complete cycle ended, in seconds since the epoch.", "crawler")
	descExaminedShares  = desc("accounting_examined_shares", "Shares the last complete accounting cycle examined, by type.", "type")
	descExaminedSets    = desc("accounting_examined_sharesets", "Sharesets the last complete accounting cycle examined, by type.", "type")
	descExaminedBytes   = desc("accounting_examined_bytes", "Bytes of shares the last complete accounting cycle examined, by type.", "type")
	descCorrupt         = desc("accounting_corrupt_shares", "Corrupt shares the last complete accounting cycle found.")
	descAdded           = desc("accounting_shares_added_total", "Shares the accounting crawler found that the lease database did not know, while this process ran.")
	descRemoved         = desc("accounting_shares_removed_total", "Shares the lease database knew that had vanished from the store, while this process ran.")
	descDeleted         = desc("accounting_shares_deleted_total", "Shares deleted because all their leases had expired, while this process ran.")
	descRecovered       = desc("accounting_recovered_bytes_total", "Bytes of store space recovered by deletions, while this process ran.")
	descSharesets       = desc("buckets_sharesets", "Sharesets the last complete bucket count found.")
	descLeasedShares    = desc("leasedb_leased_shares", "Shares with at least one lease in the lease database.")
	descLeasedBytes     = desc("leasedb_leased_bytes", "Bytes of the shares with at least one lease.")
	descPluginRestarts  = desc("plugin_restarts_total", "Times the plugin serving the backend was restarted after it died, since the backend was opened (SIGHUP opens it anew).")
	descStoreRequests   = desc("store_requests_total", "Requests the backend sent to its object store since it was opened (SIGHUP opens it anew), by op (list page, get, head, put, delete) and result (ok, not_found, throttled, failed, canceled); each attempt of a retried request counts. Absent when the backend keeps no counts (disk).", "op", "result")
	descStoreRetries    = desc("store_request_retries_total", "Of sharestore_store_requests_total, the requests that repeated an attempt that had failed, by op.", "op")
	descCrawlerStatusOK = desc("crawler_status_up", "1 when the crawlers' status could be read at this scrape, 0 otherwise.")
)

// totalCounters maps each _total metric to the accounting counter it
// sums.
var totalCounters = []struct {
	desc    *prometheus.Desc
	counter string
}{
	{descAdded, "added"},
	{descRemoved, "vanished"},
	{descDeleted, "actual-shares"},
	{descRecovered, "actual-diskbytes"},
}

// crawlerCollector reads the daemon's crawlers at each scrape.
type crawlerCollector struct {
	d *daemon

	mu sync.Mutex
	// counted holds the cycles whose whole counts are in base: those
	// completed while this process ran.
	counted map[int]bool
	base    map[string]int64
	// first is the first accounting cycle this process works on;
	// cycles before it completed before the process started.
	first int
}

// newCrawlerCollector returns the collector of d's crawlers, which must
// be open.
func newCrawlerCollector(d *daemon) *crawlerCollector {
	c := &crawlerCollector{d: d, counted: map[int]bool{}, base: map[string]int64{}}
	set, release := d.acquire()
	defer release()
	if set != nil {
		for i, name := range set.run.names {
			if name != "accounting" {
				continue
			}
			s := set.run.engines[i].State()
			switch {
			case s.CurrentCycle != nil:
				c.first = *s.CurrentCycle
			case s.LastCycleFinished != nil:
				c.first = *s.LastCycleFinished + 1
			}
		}
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *crawlerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCycle, descInProgress, descPrefixes, descFailedPrefixes, descCycleStart, descLastEnd,
		descExaminedShares, descExaminedSets, descExaminedBytes, descCorrupt, descAdded, descRemoved, descDeleted, descRecovered,
		descSharesets, descLeasedShares, descLeasedBytes, descPluginRestarts, descStoreRequests, descStoreRetries, descCrawlerStatusOK} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *crawlerCollector) Collect(ch chan<- prometheus.Metric) {
	set, release := c.d.acquire()
	defer release()
	if set == nil {
		ch <- prometheus.MustNewConstMetric(descCrawlerStatusOK, prometheus.GaugeValue, 0)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	states := map[string]crawler.State{}
	for i, name := range set.run.names {
		states[name] = set.run.engines[i].State()
	}
	st, err := set.statusOf(ctx, states, time.Now())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descCrawlerStatusOK, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descCrawlerStatusOK, prometheus.GaugeValue, 1)
	if n, ok := pluginRestarts(set.b); ok {
		ch <- prometheus.MustNewConstMetric(descPluginRestarts, prometheus.CounterValue, float64(n))
	}
	collectStoreRequests(ctx, ch, set.b)
	for name, s := range states {
		collectProgress(ch, name, s)
	}
	if b := st.BucketCounter; b != nil && b.LastCompleteCount != nil {
		ch <- prometheus.MustNewConstMetric(descSharesets, prometheus.GaugeValue, float64(*b.LastCompleteCount))
	}
	if r := st.LeaseChecker; r != nil {
		c.collectAccounting(ch, states["accounting"], r)
	}
	if s := st.LeaseDB; s != nil {
		ch <- prometheus.MustNewConstMetric(descLeasedShares, prometheus.GaugeValue, float64(s.LeasedShares))
		ch <- prometheus.MustNewConstMetric(descLeasedBytes, prometheus.GaugeValue, float64(s.LeasedBytes))
	}
}

// collectStoreRequests sends the request counts of b, when it keeps
// them: every op and result, zeros included, so that a rate is defined
// from the first scrape.
func collectStoreRequests(ctx context.Context, ch chan<- prometheus.Metric, b sharestore.Backend) {
	r, ok, err := sharestore.StoreRequestsOf(ctx, b)
	if err != nil || !ok {
		return
	}
	for _, op := range sharestore.StoreOps {
		c := r[op]
		for _, v := range []struct {
			result string
			n      int64
		}{{"ok", c.OK}, {"not_found", c.NotFound}, {"throttled", c.Throttled}, {"failed", c.Failed}, {"canceled", c.Canceled}} {
			ch <- prometheus.MustNewConstMetric(descStoreRequests, prometheus.CounterValue, float64(v.n), string(op), v.result)
		}
		ch <- prometheus.MustNewConstMetric(descStoreRetries, prometheus.CounterValue, float64(c.Retries), string(op))
	}
}

// collectProgress sends where the crawler name stands.
func collectProgress(ch chan<- prometheus.Metric, name string, s crawler.State) {
	p := crawler.ProgressOf(s, time.Now())
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
	}
	switch {
	case s.CurrentCycle != nil:
		gauge(descCycle, float64(*s.CurrentCycle))
	case s.LastCycleFinished != nil:
		gauge(descCycle, float64(*s.LastCycleFinished))
	}
	inProgress := 0.0
	if p.CycleInProgress {
		inProgress = 1
	}
	gauge(descInProgress, inProgress)
	gauge(descPrefixes, float64(p.CompletePrefixes))
	gauge(descFailedPrefixes, float64(len(p.FailedPrefixes)))
	if s.CycleStart != nil {
		gauge(descCycleStart, float64(s.CycleStart.UnixNano())/1e9)
	}
	if s.LastCycleEnd != nil {
		gauge(descLastEnd, float64(s.LastCycleEnd.UnixNano())/1e9)
	}
}

// collectAccounting sends the last complete cycle's findings and the
// counters of this process's cycles: the whole of each cycle that
// completed while it ran, plus the cycle in progress so far.
func (c *crawlerCollector) collectAccounting(ch chan<- prometheus.Metric, s crawler.State, r *crawler.CycleReport) {
	last := -1
	for n := range r.History {
		last = max(last, n)
	}
	if last >= 0 {
		h := r.History[last]
		sr := h.SpaceRecovered
		for _, t := range []string{"immutable", "mutable"} {
			ch <- prometheus.MustNewConstMetric(descExaminedShares, prometheus.GaugeValue, float64(sr["examined-shares-"+t]), t)
			ch <- prometheus.MustNewConstMetric(descExaminedSets, prometheus.GaugeValue, float64(sr["examined-buckets-"+t]), t)
			ch <- prometheus.MustNewConstMetric(descExaminedBytes, prometheus.GaugeValue, float64(sr["examined-diskbytes-"+t]), t)
		}
		ch <- prometheus.MustNewConstMetric(descCorrupt, prometheus.GaugeValue, float64(h.CorruptCount))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, h := range r.History {
		if n >= c.first && !c.counted[n] {
			c.counted[n] = true
			for _, tc := range totalCounters {
				c.base[tc.counter] += h.SpaceRecovered[tc.counter]
			}
		}
	}
	for _, tc := range totalCounters {
		v := c.base[tc.counter]
		// The cycle in progress so far, unless the history already has
		// it whole (it completed between the state and the history
		// being read).
		if so := r.SoFar; so != nil && s.CurrentCycle != nil && !c.counted[*s.CurrentCycle] {
			v += so.Counters[tc.counter]
		}
		ch <- prometheus.MustNewConstMetric(tc.desc, prometheus.CounterValue, float64(v))
	}
}

// requestMetrics counts the backend requests the crawlers make, by
// operation and result, and times them.
type requestMetrics struct {
	count    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// retries counts the cloud backends' retries, by the class of the
	// error retried (throttled or unavailable).
	retries *prometheus.CounterVec
	// tx times the lease database's transactions, by kind (read or
	// write); txFailed counts the commits that failed.
	tx       *prometheus.HistogramVec
	txFailed prometheus.Counter

	mu     sync.Mutex
	failed map[[2]string]int64 // by op and result, for the status page
}

func newRequestMetrics() *requestMetrics {
	m := &requestMetrics{
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharestore_backend_requests_total",
			Help: "Backend requests the crawlers made, by operation and result (ok, or the error's class, such as not_found or throttled).",
		}, []string{"op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sharestore_backend_request_duration_seconds",
			Help:    "How long backend requests took, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9), // 0.5 ms to 33 s
		}, []string{"op"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharestore_backend_retries_total",
			Help: "Retries of cloud backend requests, by the class of the error that caused them: throttled (the service asked to slow down) or unavailable.",
		}, []string{"class"}),
		tx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sharestore_leasedb_transaction_duration_seconds",
			Help:    "How long lease database transactions took from begin to commit or rollback, by kind (read or write).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10), // 0.1 ms to 26 s
		}, []string{"kind"}),
		txFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sharestore_leasedb_commit_failures_total",
			Help: "Lease database commits that failed (the transaction was rolled back).",
		}),
		failed: map[[2]string]int64{},
	}
	for _, class := range []string{"throttled", "unavailable"} {
		m.retries.WithLabelValues(class) // present, at 0, before the first
	}
	return m
}

// leasedbTx is a leasedb.Options.OnTx hook.
func (m *requestMetrics) leasedbTx(write bool, err error, elapsed time.Duration) {
	kind := "read"
	if write {
		kind = "write"
	}
	m.tx.WithLabelValues(kind).Observe(elapsed.Seconds())
	if err != nil {
		m.txFailed.Inc()
	}
}

// retried is a cloud.RetryPolicy.OnRetry hook.
func (m *requestMetrics) retried(what string, attempt int, err error, delay time.Duration) {
	m.retries.WithLabelValues(strings.ToLower(sharestore.CodeOf(err).String())).Inc()
}

// errorRows lists the failed requests by operation and result.
func (m *requestMetrics) errorRows() []errorRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rows []errorRow
	for k, n := range m.failed {
		rows = append(rows, errorRow{Op: k[0], Result: k[1], Count: n})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Op != rows[j].Op {
			return rows[i].Op < rows[j].Op
		}
		return rows[i].Result < rows[j].Result
	})
	return rows
}

// done is a sharestore.Hooks.Done hook.
func (m *requestMetrics) done(r sharestore.Request, err error, elapsed time.Duration) {
	result := "ok"
	if err != nil {
		result = strings.ToLower(sharestore.CodeOf(err).String())
		m.mu.Lock()
		m.failed[[2]string{string(r.Op), result}]++
		m.mu.Unlock()
	}
	m.count.WithLabelValues(string(r.Op), result).Inc()
	m.duration.WithLabelValues(string(r.Op)).Observe(elapsed.Seconds())
}

// pluginRestarts returns how often the plugin under b was restarted, and
// false when no plugin serves b.
func pluginRestarts(b sharestore.Backend) (int, bool) {
	for b != nil {
		if pb, ok := b.(*plugin.Backend); ok {
			return pb.Restarts(), true
		}
		w, ok := b.(sharestore.Wrapper)
		if !ok {
			return 0, false
		}
		b = w.Unwrap()
	}
	return 0, false
}
