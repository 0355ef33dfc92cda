package web

import (
	"net/http"
	"strings"
)

// routes registers every route of the public server, in one place.
//
// Redirects are the catch-all "GET /": every more specific pattern (the UI
// under /-/, the API under /api/, the probes) wins over it, and link names
// can never be "-", "api", "healthz", "readyz" or "metrics".
func (s *Server) routes(mux *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) http.Handler {
		var hh http.Handler = h
		if s.opt.Wrap != nil {
			hh = s.opt.Wrap(pattern, hh)
		}
		mux.Handle(pattern, hh)
		return hh
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

	// JSON API.
	handle("GET /api/v1/links", s.apiList)
	handle("POST /api/v1/links", s.apiCreate)
	handle("GET /api/v1/links/{name}", s.apiGet)
	handle("PUT /api/v1/links/{name}", s.apiUpdate)
	handle("DELETE /api/v1/links/{name}", s.apiDelete)
	handle("GET /api/v1/export", s.apiExport)
	handle("POST /api/v1/import", s.apiImport)
	handle("GET /api/", s.apiNotFound)

	// Everything else is a link.
	s.redirectH = handle("GET /", s.redirect)
}

// isLinkPath reports whether the mux would route a GET or HEAD for path to
// "GET /". The redirect hot path uses it to skip the mux's pattern matching
// (two allocations and most of a microsecond per request); TestFastPath
// checks that it agrees with the mux for every route.
func isLinkPath(path string) bool {
	if len(path) < 2 || path[0] != '/' {
		return false
	}
	switch {
	case strings.HasPrefix(path, "/-/"), strings.HasPrefix(path, "/api/"),
		path == "/healthz", path == "/readyz", path == "/metrics":
		return false
	}
	return true
}
