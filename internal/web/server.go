// Package web is Signpost's public HTTP surface: redirects, the HTML UI
// under /-/ and the JSON API under /api/v1.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
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
	Log   *slog.Logger
	// OnRedirect, when set, is told whether each redirect found its link.
	OnRedirect func(found bool)
	// Health, Ready and Metrics are served on /healthz, /readyz and
	// /metrics when set.
	Health, Ready, Metrics http.Handler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server serves the public HTTP surface.
type Server struct {
	opt    Options
	pages  map[string]*template.Template
	osd    *texttemplate.Template
	assets http.Handler
	h      http.Handler
}

// New parses the embedded templates and builds the handler.
func New(opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{opt: opt, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"ago": ago, "isTemplate": func(u string) bool { return strings.Contains(u, "{{") }, "date": func(t time.Time) string { return t.Format("2 Jan 2006 15:04 MST") }}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"home", "link", "new", "notfound", "help", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		s.pages[p] = t
	}
	if s.osd, err = texttemplate.ParseFS(templateFS, "templates/opensearch.xml"); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	s.assets = http.StripPrefix("/-/static/", http.FileServerFS(sub))

	mux, api := http.NewServeMux(), http.NewServeMux()
	s.routes(mux, api)
	// Browsers' cross-origin form posts are refused (CSRF); API clients
	// that send no Origin or Sec-Fetch-Site header are unaffected.
	cop := http.NewCrossOriginProtection()
	site, apiH := cop.Handler(mux), cop.Handler(api)
	s.h = recoverPanics(opt.Log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && isLinkPath(r.URL.Path):
			// Redirects: the handler the mux would pick, and the pattern
			// it would report. Safe methods need no CSRF check.
			r.Pattern = redirectPattern
			s.redirect(w, r)
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
	case links.Unauthorized:
		return http.StatusUnauthorized
	case links.Forbidden:
		return http.StatusForbidden
	case links.TooLarge:
		return http.StatusRequestEntityTooLarge
	case links.Unavailable:
		return http.StatusServiceUnavailable
	case links.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case links.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
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
