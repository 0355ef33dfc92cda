package ops

import (
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Instrument is the one HTTP metrics middleware: it wraps the whole public
// handler, and labels each request by the route pattern that served it,
// which the ServeMux leaves in r.Pattern (Go 1.23+; the redirect fast path,
// which skips the mux, sets it itself). Requests no route took (the mux's
// 405s, cross-origin refusals) count as route="unmatched". Every request
// gets its access-log line at debug level.
//
// A request costs one lookup in a copy-on-write map of the label children
// already made (no label hashing, no allocation once warm: see
// BenchmarkInstrumentedRedirect), two monotonic clock reads, a counter and
// a histogram observation.
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Since(m.epoch) // monotonic only: one clock read
		rec := m.recorders.Get().(*recorder)
		rec.ResponseWriter, rec.status, rec.bytes = w, 0, 0
		defer m.done(rec, r, start)
		h.ServeHTTP(rec, r)
	})
}

// methods are the method label values; anything else is counted as OTHER
// (r.Method is client input and must not become an unbounded label).
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER"}

func methodIndex(m string) uint8 {
	for i, name := range methods[:len(methods)-1] {
		if m == name {
			return uint8(i)
		}
	}
	return uint8(len(methods) - 1)
}

// seriesKey names one set of label children: the pattern as the mux
// reports it, the method and the status code.
type seriesKey struct {
	pattern string
	method  uint8
	code    int
}

type series struct {
	route    string
	requests prometheus.Counter
	duration prometheus.Observer
}

// routeLabel is the label for a registered pattern, read as a path: without
// its method (a label of its own) and without the mux's end-of-path
// marker ("GET /-/{$}" → "/-/", "GET /-/links/{name}" → "/-/links/{name}").
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	return strings.TrimSuffix(pattern, "{$}")
}

func (m *Metrics) seriesFor(k seriesKey) *series {
	if s := (*m.series.Load())[k]; s != nil {
		return s
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	cur := *m.series.Load()
	if s := cur[k]; s != nil {
		return s
	}
	route, method := routeLabel(k.pattern), methods[k.method]
	s := &series{route: route,
		requests: m.requests.WithLabelValues(route, method, strconv.Itoa(k.code)),
		duration: m.duration.WithLabelValues(route, method)}
	next := maps.Clone(cur)
	next[k] = s
	m.series.Store(&next)
	return s
}

// seriesMap is the copy-on-write map behind seriesFor: lookups read it
// without a lock; a new label combination (a bounded set) copies it.
type seriesMap struct {
	seriesMu sync.Mutex
	series   atomic.Pointer[map[seriesKey]*series]
}

func (m *Metrics) done(rec *recorder, r *http.Request, start time.Duration) {
	d := time.Since(m.epoch) - start
	code := rec.status
	if code == 0 {
		code = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	s := m.seriesFor(seriesKey{pattern: r.Pattern, method: methodIndex(r.Method), code: code})
	s.requests.Inc()
	if code == http.StatusInsufficientStorage { // only a full disk answers 507
		m.diskFull.Inc()
	}
	s.duration.Observe(d.Seconds())

	// The access log is at debug level and never carries the query string:
	// a redirect's query may hold tokens meant for the target.
	if m.log.Enabled(r.Context(), slog.LevelDebug) {
		m.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("method", r.Method),
			slog.String("route", s.route),
			slog.String("path", r.URL.Path),
			slog.Int("status", code),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
		)
	}
	rec.ResponseWriter = nil
	m.recorders.Put(rec)
}

// recorder remembers the status and size of a response. It unwraps to the
// underlying writer, so http.ResponseController (deadlines, flush, hijack)
// sees through it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	// 1xx informational responses are not the final status (101 is).
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
