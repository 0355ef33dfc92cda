package web

import (
	"net/http"
	"strings"
)

// routes registers every route of the public server, in one place: the
// API on api (every path under /api/, which ServeHTTP sends there), the
// rest on mux.
//
// Redirects are the catch-all "GET /": every more specific pattern (the UI
// under /-/, the probes) wins over it, and link names can never be "-",
// "api", "healthz", "readyz" or "metrics".
func (s *Server) routes(mux, api *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) { s.handle(mux, pattern, h) }
	handleOpt := func(pattern string, h http.Handler) {
		if h != nil {
			handle(pattern, h.ServeHTTP)
		}
	}

	handleOpt("GET /healthz", s.opt.Health)
	handleOpt("GET /readyz", s.opt.Ready)
	handleOpt("GET /metrics", s.opt.Metrics)

	// UI.
	handle("GET /-/{$}", s.home)
	handle("GET /-/go", s.goSearch)
	handle("GET /-/new", s.newLink)
	handle("POST /-/links", s.createForm)
	handle("GET /-/links/{name}", s.linkPage)
	handle("POST /-/links/{name}", s.updateForm)
	handle("POST /-/links/{name}/delete", s.deleteForm)
	handle("GET /-/help", s.help)
	handle("GET /-/opensearch.xml", s.openSearch)
	handle("GET /-/static/", s.static)

	// Everything else is a link.
	handle(redirectPattern, s.redirect)

	// JSON API, on a mux of its own: without "GET /" there, each path can
	// have a method-less pattern that answers other methods with a JSON
	// 405, and "/api/" a JSON 404 (the mux's own are plain text).
	handleAPI := func(pattern string, h http.HandlerFunc) { s.handle(api, pattern, h) }
	handleAPI("GET /api/v1/links", s.apiList)
	handleAPI("POST /api/v1/links", s.apiCreate)
	handleAPI("/api/v1/links", s.apiMethodNotAllowed("GET, HEAD, POST"))
	handleAPI("GET /api/v1/links/{name}", s.apiGet)
	handleAPI("PUT /api/v1/links/{name}", s.apiUpdate)
	handleAPI("DELETE /api/v1/links/{name}", s.apiDelete)
	handleAPI("/api/v1/links/{name}", s.apiMethodNotAllowed("GET, HEAD, PUT, DELETE"))
	handleAPI("GET /api/v1/export", s.apiExport)
	handleAPI("/api/v1/export", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("POST /api/v1/import", s.apiImport)
	handleAPI("/api/v1/import", s.apiMethodNotAllowed("POST"))
	handleAPI("/api/", s.apiNotFound)
}

// handle registers h for pattern on mux.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.Handle(pattern, h)
}

// redirectPattern is the redirects' route. The fast path that skips the
// mux sets it as r.Pattern, as the mux would, for the metrics' route label.
const redirectPattern = "GET /"

// isAPIPath reports whether path belongs to the API mux.
func isAPIPath(path string) bool { return strings.HasPrefix(path, "/api/") }

// isLinkPath reports whether the mux would route a GET or HEAD for path to
// "GET /". The redirect hot path uses it to skip the mux's pattern matching
// (two allocations and most of a microsecond per request); TestFastPath
// checks that it agrees with the mux for every route.
func isLinkPath(path string) bool {
	if len(path) < 2 || path[0] != '/' {
		return false
	}
	switch {
	case strings.HasPrefix(path, "/-/"), isAPIPath(path),
		path == "/healthz", path == "/readyz", path == "/metrics":
		return false
	}
	return true
}
