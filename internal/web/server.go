// Package web is Signpost's public HTTP surface: redirects, the HTML UI
// under /-/ and the JSON API under /api/v1.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
)

//go:embed templates/*.html templates/*.xml
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are the server's dependencies.
type Options struct {
	Links *links.Service
	Index *index.Index
	Auth  *auth.Resolver
	// OIDC signs people in (AUTH_MODE=oidc); nil otherwise.
	OIDC *auth.OIDC
	Log  *slog.Logger
	// OnRedirect, when set, is told whether each redirect found its link.
	OnRedirect func(found bool)
	// Health, Ready and Metrics are served on /healthz, /readyz and
	// /metrics when set.
	Health, Ready, Metrics http.Handler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PublicURL is the service's own absolute URL (PUBLIC_URL, without a
	// trailing slash), used where a page names the service; empty: derived
	// from each request's Host.
	PublicURL string
	// ClickHistoryDays is CLICK_HISTORY_DAYS: the longest stats series
	// (0: all days are kept).
	ClickHistoryDays int
}

// Server serves the public HTTP surface.
type Server struct {
	opt    Options
	pages  map[string]*template.Template
	osd    *texttemplate.Template
	assets *assets
	// compressor compresses rendered pages (assets.go).
	compressor pageCompressor
	h          http.Handler
	// hdr are the security headers' values, built once: the dispatcher
	// sets them on the header map directly, which costs the redirect path
	// no allocation.
	hdr securityHeaders
	// importing holds a token while an API import runs.
	importing chan struct{}
	// patterns are the registered patterns, for the routing test.
	patterns []string
}

// securityHeaders go on every response. Referrer-Policy goes on every
// response but link redirects: a redirect's policy replaces the one of the
// page the click came from, so any value there could only loosen a
// stricter one (docs/security.md).
type securityHeaders struct{ nosniff, csp, referrer []string }

func newSecurityHeaders() securityHeaders {
	return securityHeaders{
		nosniff: []string{"nosniff"},
		// The pages load only their own CSS, script and icon; no plugin,
		// no <base>, forms post only here, no framing (clickjacking).
		csp:      []string{"default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
		referrer: []string{"strict-origin-when-cross-origin"},
	}
}

// New parses the embedded templates and builds the handler.
func New(opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{opt: opt, pages: map[string]*template.Template{}, hdr: newSecurityHeaders(), importing: make(chan struct{}, 1)}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	if s.assets, err = loadAssets(sub); err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"asset": s.assets.path, "ago": ago, "isTemplate": func(u string) bool { return strings.Contains(u, "{{") }, "date": func(t time.Time) string { return t.Format("2 Jan 2006 15:04 MST") },
		"tags": links.TagList, "rev": func(l links.Link) string { return l.Rev().String() },
		"prev": func(v int64) int64 { return v - 1 }, "has": slices.Contains[[]links.Scope]}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/form.html")
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"home", "link", "new", "notfound", "help", "error", "history", "deleted", "audit", "directory", "tokens"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		s.pages[p] = t
	}
	if s.osd, err = texttemplate.ParseFS(templateFS, "templates/opensearch.xml"); err != nil {
		return nil, err
	}

	mux, api := http.NewServeMux(), http.NewServeMux()
	s.routes(mux, api)
	// Browsers' cross-origin form posts are refused (CSRF); API clients
	// that send no Origin or Sec-Fetch-Site header are unaffected. The
	// refusal is a page on the site and a JSON error on the API.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.refuse(w, r, links.Errorf(links.Forbidden, "cross-origin request refused: a browser sent it from another site (Origin or Sec-Fetch-Site); use this site's own forms"))
	}))
	// Who is asking is resolved once per request, here (a repeated
	// identity header or a bad token is refused with 401 there). Link
	// redirects resolve it only under REQUIRE_LOGIN, or in the redirect
	// handler when the target needs it (.User) or credentials came along.
	site, apiH := s.identify(cop.Handler(mux)), s.identify(cop.Handler(api))
	var redirect http.Handler = http.HandlerFunc(s.redirect)
	if opt.Links.RequireLogin {
		redirect = s.identify(redirect)
	}
	s.h = recoverPanics(opt.Log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = s.hdr.nosniff
		h["Content-Security-Policy"] = s.hdr.csp
		// Link redirects: the same handler and middleware the mux would
		// pick. Safe methods need no CSRF check. The pages this route
		// renders (404, 502) set their Referrer-Policy.
		link := isLinkRequest(r)
		if !link {
			h["Referrer-Policy"] = s.hdr.referrer
		}
		switch {
		case link:
			// The handler the mux would pick, and the pattern it would
			// report (the metrics' route label).
			r.Pattern = redirectPattern
			redirect.ServeHTTP(w, r)
		case isAPIPath(r.URL.Path):
			apiH.ServeHTTP(w, r)
		default:
			site.ServeHTTP(w, r)
		}
	}))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func recoverPanics(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				if isAPIPath(r.URL.Path) { // the API's errors have one shape
					writeJSON(w, http.StatusInternalServerError, map[string]any{"error": apiError{Code: links.Internal, Message: "internal error"}})
					return
				}
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// statusOf maps error codes to HTTP statuses: the one place that does.
func statusOf(err error) int {
	switch links.ErrorCode(err) {
	case links.Invalid:
		return http.StatusBadRequest
	case links.NotFound:
		return http.StatusNotFound
	case links.Conflict:
		return http.StatusConflict
	case links.Stale:
		return http.StatusPreconditionFailed
	case links.Unauthorized:
		return http.StatusUnauthorized
	case links.Forbidden:
		return http.StatusForbidden
	case links.TooLarge:
		return http.StatusRequestEntityTooLarge
	case links.Unavailable:
		return http.StatusServiceUnavailable
	case links.DiskFull:
		return http.StatusInsufficientStorage
	case links.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case links.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}

// retryAfter is what a 503 tells clients to wait, in seconds: about the
// time a busy database or a running import needs.
const retryAfter = "5"

// errorHeaders sets the headers an error answer carries besides its status.
func errorHeaders(w http.ResponseWriter, err error) {
	if statusOf(err) == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
}

func (s *Server) logErr(r *http.Request, err error) {
	if statusOf(err) >= 500 {
		s.opt.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	default:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
