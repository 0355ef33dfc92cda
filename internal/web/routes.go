package web

import (
	"net/http"
	"strings"

	"github.com/signpost-go/signpost/internal/auth"
)

// routes registers every route of the public server, in one place: the
// API on api (/api/v1 and every path under it), the rest on mux.
// ServeHTTP sends the API's paths to api, and a GET or HEAD that
// isLinkRequest accepts straight to the "GET /" handler (the redirect);
// everything else goes through mux.
//
// Redirects are the catch-all "GET /": every other pattern (the UI under
// /-/, the probes, /metrics) is more specific and wins over it. Link names
// never start with "-" and can never be "healthz", "readyz" or "metrics";
// a link may be called "api": go/api and go/api/x are the link,
// go/api/v1/... the API.
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
	handle("GET /-/links", s.directory)
	handle("POST /-/links", s.createForm)
	handle("GET /-/links/{name}", s.linkPage)
	handle("POST /-/links/{name}", s.updateForm)
	handle("POST /-/links/{name}/delete", s.deleteForm)
	handle("GET /-/links/{name}/history", s.historyPage)
	handle("POST /-/links/{name}/restore", s.restoreForm)
	handle("GET /-/deleted", s.deletedPage)
	handle("GET /-/stale", s.stalePage)
	handle("GET /-/audit", s.auditPage)
	handle("GET /-/login", s.login)
	handle("GET "+auth.CallbackPath, s.callback)
	handle("POST /-/logout", s.logout)
	handle("GET /-/tokens", s.tokensPage)
	handle("POST /-/tokens", s.createTokenForm)
	handle("POST /-/tokens/{id}/delete", s.revokeTokenForm)
	handle("GET /-/help", s.help)
	handle("GET /-/opensearch.xml", s.openSearch)
	handle("GET /-/static/", s.static)
	// The rest of /-/ is the UI's too (and /- redirects to /-/), not a
	// link called "-".
	handle("GET /-/", s.uiNotFound)

	// The root is the UI's front door; everything else is a link.
	handle("GET /{$}", s.root)
	handle(redirectPattern, s.redirect)

	// JSON API, on a mux of its own: without "GET /" there, each path can
	// have a method-less pattern that answers other methods with a JSON
	// 405, and "/api/v1/" a JSON 404 (the mux's own are plain text).
	handleAPI := func(pattern string, h http.HandlerFunc) { s.handle(api, pattern, h) }
	handleAPI("GET /api/v1/links", s.apiList)
	handleAPI("POST /api/v1/links", s.apiCreate)
	handleAPI("/api/v1/links", s.apiMethodNotAllowed("GET, HEAD, POST"))
	handleAPI("GET /api/v1/links/{name}", s.apiGet)
	handleAPI("PUT /api/v1/links/{name}", s.apiUpdate)
	handleAPI("PATCH /api/v1/links/{name}", s.apiPatch)
	handleAPI("DELETE /api/v1/links/{name}", s.apiDelete)
	handleAPI("/api/v1/links/{name}", s.apiMethodNotAllowed("GET, HEAD, PUT, PATCH, DELETE"))
	handleAPI("GET /api/v1/links/{name}/stats", s.apiStats)
	handleAPI("/api/v1/links/{name}/stats", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("GET /api/v1/links/{name}/history", s.apiHistory)
	handleAPI("/api/v1/links/{name}/history", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("POST /api/v1/links/{name}/restore", s.apiRestore)
	handleAPI("/api/v1/links/{name}/restore", s.apiMethodNotAllowed("POST"))
	handleAPI("GET /api/v1/deleted", s.apiDeleted)
	handleAPI("/api/v1/deleted", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("GET /api/v1/audit", s.apiAudit)
	handleAPI("/api/v1/audit", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("GET /api/v1/export", s.apiExport)
	handleAPI("/api/v1/export", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("POST /api/v1/import", s.apiImport)
	handleAPI("/api/v1/import", s.apiMethodNotAllowed("POST"))
	handleAPI("GET /api/v1/tokens", s.apiListTokens)
	handleAPI("POST /api/v1/tokens", s.apiCreateToken)
	handleAPI("/api/v1/tokens", s.apiMethodNotAllowed("GET, HEAD, POST"))
	handleAPI("DELETE /api/v1/tokens/{id}", s.apiRevokeToken)
	handleAPI("/api/v1/tokens/{id}", s.apiMethodNotAllowed("DELETE"))
	handleAPI("GET /api/v1/openapi.json", s.apiOpenAPI)
	handleAPI("/api/v1/openapi.json", s.apiMethodNotAllowed("GET, HEAD"))
	handleAPI("/api/v1/", s.apiNotFound)
	handleAPI("/api/v1", s.apiNotFound)
}

// handle registers h for pattern on mux, and records the pattern for the
// routing test.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.Handle(pattern, h)
	s.patterns = append(s.patterns, pattern)
}

// redirectPattern is the redirects' route. The fast path that skips the
// mux sets it as r.Pattern, as the mux would, for the metrics' route label.
const redirectPattern = "GET /"

// isAPIPath reports whether path belongs to the API mux: /api/v1 and what
// is under it, and nothing else, so that a link may be called api.
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, "/api/v1") && (len(path) == len("/api/v1") || path[len("/api/v1")] == '/')
}

// isLinkRequest reports whether mux would route r to "GET /": the
// redirect fast path's test, which skips the mux's pattern matching (two
// allocations and most of a microsecond per request). routes_test.go
// checks that it agrees with the mux for every registered pattern.
func isLinkRequest(r *http.Request) bool {
	// A path sent with escapes of its own (RawPath set, e.g. %2F) may
	// clean or match differently from its decoded form: the mux decides.
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.RawPath == "" && isLinkPath(r.URL.Path)
}

// isLinkPath reports whether path is a link's: its first element is a
// name (not empty, "." or "..": the mux cleans those) under no other
// route. What follows the name is the link's own and goes on as it was
// sent, unclean or not (go/who/http://host keeps its "//", as in golink),
// which is the one place where the fast path and the mux differ: the mux
// would redirect to the cleaned path first.
func isLinkPath(path string) bool {
	if len(path) < 2 || path[0] != '/' {
		return false
	}
	name := path[1:]
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	if name == "" || name == "." || name == ".." {
		return false
	}
	switch {
	case strings.HasPrefix(path, "/-/"), path == "/-", isAPIPath(path),
		path == "/healthz", path == "/readyz", path == "/metrics":
		return false
	}
	return true
}
