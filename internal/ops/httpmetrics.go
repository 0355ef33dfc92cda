package ops

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP instrumentation is on the redirect hot path, so it resolves label
// children once and keeps them: a route holds one series per method, a
// series one counter per status code, each behind an atomic pointer that is
// filled on first use. A request then costs two atomic loads, two atomic
// adds, one histogram observation and two clock reads; the response
// recorder comes from a pool. No map lookups, no label hashing, no
// allocations once warm.

// methods are the method label values; anything else is counted as OTHER
// (r.Method is client input and must not become an unbounded label).
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER"}

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	case "CONNECT":
		return 7
	case "TRACE":
		return 8
	}
	return len(methods) - 1
}

const minCode, maxCode = 100, 599

type route struct {
	m      *Metrics
	name   string
	series [len(methods)]atomic.Pointer[series]
}

type series struct {
	route, method string
	duration      prometheus.Observer
	codes         [maxCode - minCode + 1]atomic.Pointer[prometheus.Counter]
}

func (rt *route) get(method int) *series {
	if s := rt.series[method].Load(); s != nil {
		return s
	}
	s := &series{route: rt.name, method: methods[method]}
	s.duration = rt.m.duration.WithLabelValues(rt.name, s.method)
	if rt.series[method].CompareAndSwap(nil, s) {
		return s
	}
	return rt.series[method].Load()
}

func (s *series) counter(m *Metrics, code int) prometheus.Counter {
	if code < minCode || code > maxCode {
		return m.requests.WithLabelValues(s.route, s.method, strconv.Itoa(code))
	}
	slot := &s.codes[code-minCode]
	if c := slot.Load(); c != nil {
		return *c
	}
	c := m.requests.WithLabelValues(s.route, s.method, strconv.Itoa(code))
	slot.CompareAndSwap(nil, &c)
	return c
}

// routeName is the label for a registered pattern: the pattern without its
// method ("GET /-/links/{name}" → "/-/links/{name}"); the method is a label
// of its own.
func routeName(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}

func (m *Metrics) newRoute(name string) *route {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	if m.routes == nil {
		m.routes = map[string]*route{}
	}
	if rt, ok := m.routes[name]; ok {
		return rt
	}
	rt := &route{m: m, name: name}
	m.routes[name] = rt
	return rt
}

// Wrap instruments one registered route; it is web.Options.Wrap. Behind
// Instrument it only names the route for the outer recorder; on its own it
// records the request itself.
func (m *Metrics) Wrap(pattern string, h http.Handler) http.Handler {
	rt := m.newRoute(routeName(pattern))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*recorder); ok && rec.m == m {
			rec.route = rt
			h.ServeHTTP(w, r)
			return
		}
		m.serve(rt, h, w, r)
	})
}

// Instrument wraps the whole public handler, so that requests no route
// took (405s, cross-origin rejections) are counted too, as
// route="unmatched", and every request gets its access-log line.
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serve(nil, h, w, r)
	})
}

func (m *Metrics) serve(rt *route, h http.Handler, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := m.recorders.Get().(*recorder)
	rec.ResponseWriter, rec.m, rec.route, rec.status, rec.bytes = w, m, rt, 0, 0
	defer m.done(rec, r, start)
	h.ServeHTTP(rec, r)
}

func (m *Metrics) done(rec *recorder, r *http.Request, start time.Time) {
	d := time.Since(start)
	rt := rec.route
	if rt == nil {
		rt = m.unmatched
	}
	code := rec.status
	if code == 0 {
		code = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	s := rt.get(methodIndex(r.Method))
	s.counter(m, code).Inc()
	if code == http.StatusInsufficientStorage { // only a full disk answers 507
		m.diskFull.Inc()
	}
	s.duration.Observe(d.Seconds())

	// The access log is at debug level and never carries the query string:
	// a redirect's query may hold tokens meant for the target.
	if m.log.Enabled(r.Context(), slog.LevelDebug) {
		m.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("method", r.Method),
			slog.String("route", rt.name),
			slog.String("path", r.URL.Path),
			slog.Int("status", code),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
		)
	}
	rec.ResponseWriter, rec.route = nil, nil
	m.recorders.Put(rec)
}

// recorder remembers the status and size of a response. It unwraps to the
// underlying writer, so http.ResponseController (deadlines, flush, hijack)
// sees through it.
type recorder struct {
	http.ResponseWriter
	m      *Metrics
	route  *route
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
