package ops

import (
	"database/sql"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signpost-go/signpost/internal/buildinfo"
	"github.com/signpost-go/signpost/internal/links"
)

// MetricsOptions are what the metrics read from the rest of the service.
type MetricsOptions struct {
	// Links returns the number of links in the index (signpost_links).
	Links func() int
	// DBUp returns 1 when the last database check passed, else 0
	// (signpost_db_up).
	DBUp func() float64
	// PendingClicks returns the clicks counted in memory and not yet
	// written (signpost_clicks_pending).
	PendingClicks func() int64
	// RowsSkipped returns how many stored rows the store left out of
	// listings, exports and index loads because they could not be read
	// (signpost_store_rows_skipped_total).
	RowsSkipped func() int64
	// ListenerUp returns 1 while the PostgreSQL change listener is
	// connected, else 0 (signpost_change_listener_up); nil on SQLite.
	ListenerUp func() float64
	// DB is the pool whose statistics are exported as go_sql_*; DBName
	// labels them (db_name="sqlite" or "postgres").
	DB     *sql.DB
	DBName string
	// Log receives one access-log line per request at debug level, and
	// errors from the /metrics handler.
	Log *slog.Logger
}

// Metrics is Signpost's own Prometheus registry and the instruments the
// service updates. Every label comes from a bounded set: route patterns,
// HTTP methods, status codes and fixed results.
type Metrics struct {
	reg      *prometheus.Registry
	log      *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	found    prometheus.Counter
	notFound prometheus.Counter
	flushOK  prometheus.Observer
	flushErr prometheus.Observer
	diskFull prometheus.Counter

	seriesMap
	recorders sync.Pool
	epoch     time.Time // durations are read as time.Since(epoch): monotonic only
}

// durationBuckets resolve the sub-millisecond range where redirects are
// (tens of µs in the server, ~0.1 ms on a loaded pod) in 1-2.5-5 steps
// from 25µs, then go on to the API's and the export's seconds. Classic
// buckets rather than a native histogram: every Prometheus reads them
// from the text format, the p99 of a redirect lands in a bucket no wider
// than its own order of magnitude, and an exemplar (a trace ID, once
// requests carry one) attaches to one of them in the OpenMetrics format.
var durationBuckets = []float64{.000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics builds the registry: Go runtime and process collectors,
// build info, HTTP, redirect, link, click-flush, database and pool metrics.
func NewMetrics(opt MetricsOptions) *Metrics {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg, log: opt.Log, epoch: time.Now()}
	m.recorders.New = func() any { return new(recorder) }
	m.series.Store(&map[seriesKey]*series{})

	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.MetricsGC, collectors.MetricsMemory, collectors.MetricsScheduler,
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/(cpu/classes|sync)/.*`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	bi := buildinfo.Get()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "signpost_build_info",
		Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{
			"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion,
		},
	})
	buildInfo.Set(1)
	reg.MustRegister(buildInfo)

	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "signpost_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "signpost_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and method.",
		Buckets: durationBuckets,
	}, []string{"route", "method"})
	reg.MustRegister(m.requests, m.duration)

	redirects := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "signpost_redirects_total",
		Help: "Redirect lookups, by result: found (a 302 to the target) or not_found.",
	}, []string{"result"})
	m.found = redirects.WithLabelValues("found")
	m.notFound = redirects.WithLabelValues("not_found")
	reg.MustRegister(redirects)

	flush := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "signpost_click_flush_duration_seconds",
		Help:    "Time to write one batch of counted clicks to the database, by result (ok or error).",
		Buckets: prometheus.DefBuckets,
	}, []string{"result"})
	m.flushOK = flush.WithLabelValues("ok")
	m.flushErr = flush.WithLabelValues("error")
	reg.MustRegister(flush)

	m.diskFull = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "signpost_disk_full_total",
		Help: "Writes refused because the database's disk is full: HTTP 507 answers and click flushes. Free space on the database's volume.",
	})
	reg.MustRegister(m.diskFull)
	if opt.RowsSkipped != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "signpost_store_rows_skipped_total",
			Help: "Stored links left out of listings, exports and index loads because their row cannot be read; each is logged with its key. Repair or delete those rows.",
		}, func() float64 { return float64(opt.RowsSkipped()) }))
	}
	if opt.Links != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "signpost_links",
			Help: "Links in the in-memory index.",
		}, func() float64 { return float64(opt.Links()) }))
	}
	if opt.DBUp != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "signpost_db_up",
			Help: "1 when the last periodic database check passed, 0 when it failed. Redirects keep working while it is 0.",
		}, opt.DBUp))
	}
	if opt.PendingClicks != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "signpost_clicks_pending",
			Help: "Clicks counted in memory and not yet written to the database. Grows while the database is unreachable; one counter per link, so nothing is dropped.",
		}, func() float64 { return float64(opt.PendingClicks()) }))
	}
	if opt.ListenerUp != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "signpost_change_listener_up",
			Help: "1 while the PostgreSQL change listener is connected, 0 while it reconnects (other replicas' changes then arrive only with a resync).",
		}, opt.ListenerUp))
	}
	if opt.DB != nil {
		reg.MustRegister(collectors.NewDBStatsCollector(opt.DB, opt.DBName))
	}

	return m
}

// Registry is the registry, for tests and for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format, or in
// OpenMetrics when the scraper asks for it (Accept:
// application/openmetrics-text), which is the format that carries exemplars.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg,
		Timeout:           10 * time.Second,
		EnableOpenMetrics: true,
	})
}

// Redirect counts one redirect lookup; it is web.Options.OnRedirect.
func (m *Metrics) Redirect(found bool) {
	if found {
		m.found.Inc()
	} else {
		m.notFound.Inc()
	}
}

// ObserveFlush records one click flush; it is index.Flusher.Observe.
func (m *Metrics) ObserveFlush(d time.Duration, err error) {
	if links.ErrorCode(err) == links.DiskFull {
		m.diskFull.Inc()
	}
	if err != nil {
		m.flushErr.Observe(d.Seconds())
		return
	}
	m.flushOK.Observe(d.Seconds())
}
