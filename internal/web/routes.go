package web

import (
	"net/http"
	"strings"
)

// routes registers every route of the public server, in one place: the
// API on api, the rest on mux. ServeHTTP sends every path under /api/ to
// api, and a GET or HEAD that isLinkRequest accepts straight to the "GET
// /" handler (the redirect); everything else goes through mux.
//
// Redirects are the catch-all "GET /": every other pattern (the UI under
// /-/, the probes, /metrics) is more specific and wins over it, and the
// names they use are reserved (links.ValidateName; "-" is no name at all).
func (s *Server) routes(mux, api *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) http.Handler {
		return s.handle(mux, pattern, h)
	}
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
	// The rest of /-/ is the UI's too (and /- redirects to /-/), not a
	// link called "-".
	handle("GET /-/", s.uiNotFound)

	// The root is the UI's front door; everything else is a link.
	handle("GET /{$}", s.root)
	s.redirectH = handle("GET /", s.redirect)

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

// handle registers h for pattern on mux, through the metrics middleware.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) http.Handler {
	var hh http.Handler = h
	if s.opt.Wrap != nil {
		hh = s.opt.Wrap(pattern, hh)
	}
	mux.Handle(pattern, hh)
	s.patterns = append(s.patterns, pattern)
	return hh
}

// isAPIPath reports whether path belongs to the API mux.
func isAPIPath(path string) bool { return strings.HasPrefix(path, "/api/") }

// isLinkRequest reports whether mux would route r to "GET /": the
// redirect fast path's test, which skips the mux's pattern matching (two
// allocations and most of a microsecond per request). routes_test.go
// checks that it agrees with the mux for every registered pattern.
func isLinkRequest(r *http.Request) bool {
	// A path sent with escapes of its own (RawPath set, e.g. %2F) may
	// clean or match differently from its decoded form: the mux decides.
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.RawPath == "" && isLinkPath(r.URL.Path)
}

// isLinkPath reports whether path, clean and under no other route, is a
// link's.
func isLinkPath(path string) bool {
	if len(path) < 2 || path[0] != '/' || !isCleanPath(path) {
		return false
	}
	switch {
	case strings.HasPrefix(path, "/-/"), path == "/-", isAPIPath(path),
		path == "/healthz", path == "/readyz", path == "/metrics":
		return false
	}
	return true
}

// isCleanPath reports whether the mux would leave path as it is: no empty,
// "." or ".." element (it redirects such paths to their cleaned form).
func isCleanPath(path string) bool {
	for i := 0; i < len(path); i++ {
		if path[i] != '/' {
			continue
		}
		elem := path[i+1:]
		if j := strings.IndexByte(elem, '/'); j >= 0 {
			elem = elem[:j]
		} else if elem == "" {
			return true // a trailing slash
		}
		if elem == "" || elem == "." || elem == ".." {
			return false
		}
	}
	return true
}
