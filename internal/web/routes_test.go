package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
)

// The redirect fast path (isLinkRequest) must pick exactly the requests
// the mux would route to "GET /": for every registered pattern, paths
// made from it, and edge paths. A new route that isLinkPath does not know
// of fails here instead of being swallowed by the redirect handler. (A
// path sent with escapes of its own, such as %2F, is left to the mux. A
// link path whose rest is unclean, such as /who/http://host, is the
// link's as sent, where the mux would first redirect to the clean path.)
func TestFastPathAgreesWithTheMux(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	opt := Options{
		Links: &links.Service{}, Index: index.New(log), Auth: &auth.Resolver{}, Log: log,
		// Every optional route, so that each is checked.
		Health: ok, Ready: ok, Metrics: ok,
	}
	s := &Server{opt: opt}
	mux, api := http.NewServeMux(), http.NewServeMux()
	s.routes(mux, api)
	if len(s.patterns) < 20 {
		t.Fatalf("only %d patterns recorded: %v", len(s.patterns), s.patterns)
	}

	paths := []string{
		"", "/", "//", "///x", "/x//y", "/./x", "/x/.", "/x/..", "/x/../y", "/x/./", "/x/.y", "/.x",
		"/-", "/--", "/-x", "/-/", "/-//", "/-/x/..", "/x/-/", "/%2D/", "/-%2F",
		"/api", "/api/", "/apix", "/API/v1/links", "/x/api/", "/%61pi/v1/links", "/api%2Fv1",
		"/healthz/", "/healthzx", "/Healthz", "/healthz/x", "/readyz/", "/metrics/x", "/metricsx",
		"/who/http://host", "/x/../-/links", "/x/../healthz",
		"/docs", "/docs/", "/docs/a/b", "/docs/a%2Fb", "/docs/a%20b", "/a%2F%2Fb", "/a/%2E%2E/b", "/d%C3%A9j%C3%A0",
	}
	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	for _, p := range s.patterns {
		_, path, _ := strings.Cut(p, " ")
		if !strings.HasPrefix(path, "/") { // a method-less pattern
			path = p
		}
		path = strings.TrimSuffix(path, "{$}")
		path = wildcard.ReplaceAllString(path, "x")
		paths = append(paths, path, path+"x", path+"/", path+"/x", strings.TrimSuffix(path, "/"), strings.ToUpper(path))
	}

	agreed := 0
	for _, p := range paths {
		for _, method := range []string{"GET", "HEAD"} {
			r := &http.Request{Method: method, URL: mustParseURL(t, p), Host: "go"}
			routed := routesToLink(mux, api, r)
			fast := isLinkRequest(r)
			switch {
			case fast && !routed && keepsUncleanRest(mux, r):
				agreed++
			case fast && !routed:
				t.Errorf("%s %q: the fast path takes it, but the mux routes it %s", method, p, describe(mux, api, r))
			case !fast && routed && r.URL.RawPath == "":
				t.Errorf("%s %q: the fast path leaves it to the mux, which routes it %s", method, p, describe(mux, api, r))
			default:
				// A path sent with escapes of its own (RawPath) is left
				// to the mux, which reaches the same handler.
				agreed++
			}
		}
	}
	t.Logf("fast path and mux agree on %d requests from %d patterns", agreed, len(s.patterns))

	// Other methods never take the fast path.
	for _, method := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		if isLinkRequest(httptest.NewRequest(method, "/docs", nil)) {
			t.Errorf("%s /docs takes the redirect fast path", method)
		}
	}
}

// keepsUncleanRest reports whether r is a link path whose first element
// is clean and whose rest the mux would clean: the link keeps it as sent.
func keepsUncleanRest(mux *http.ServeMux, r *http.Request) bool {
	h, _ := mux.Handler(r)
	name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return isMuxRedirect(h) && name != "" && name != "." && name != ".."
}

// routesToLink reports whether the full routing, without the fast path,
// gives r to the "GET /" handler: /api/ paths go to the API mux, the rest
// to the site mux, which may redirect an unclean path instead.
func routesToLink(mux, api *http.ServeMux, r *http.Request) bool {
	if isAPIPath(r.URL.Path) {
		return false
	}
	h, pattern := mux.Handler(r)
	return pattern == "GET /" && !isMuxRedirect(h)
}

func describe(mux, api *http.ServeMux, r *http.Request) string {
	if isAPIPath(r.URL.Path) {
		_, pattern := api.Handler(r)
		return fmt.Sprintf("to the API mux (%q)", pattern)
	}
	h, pattern := mux.Handler(r)
	if isMuxRedirect(h) {
		return fmt.Sprintf("to a redirect to its clean form (then %q)", pattern)
	}
	return fmt.Sprintf("to %q", pattern)
}

// isMuxRedirect reports whether h is the mux's own redirect (to a cleaned
// path, or /tree to /tree/), which ServeMux.Handler returns with the
// pattern the new path will match: an http.RedirectHandler.
func isMuxRedirect(h http.Handler) bool {
	return fmt.Sprintf("%T", h) == fmt.Sprintf("%T", http.RedirectHandler("/", http.StatusMovedPermanently))
}

func mustParseURL(t *testing.T, p string) *url.URL {
	t.Helper()
	u, err := url.Parse(p)
	if err != nil {
		t.Fatalf("path %q: %v", p, err)
	}
	return u
}
