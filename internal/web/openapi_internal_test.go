package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

// Every API route the server registers is in the OpenAPI description,
// and every operation there is a registered route: a new endpoint or
// method cannot ship undescribed, nor a described one go missing. Each
// path also answers the methods it does not take with the 405 and Allow
// the description implies, and a path it lacks with a JSON 404.
func TestAPIRoutesAreDescribed(t *testing.T) {
	c, err := apitest.New(openapiJSON)
	if err != nil {
		t.Fatal(err)
	}
	doc := c.Doc()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(Options{Links: &links.Service{}, Index: index.New(log), Auth: &auth.Resolver{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}

	registered := map[string]bool{} // "METHOD /rel" and "/rel" (method-less)
	for _, p := range s.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "", p
		}
		if !isAPIPath(path) {
			continue
		}
		rel := strings.TrimPrefix(path, apitest.Prefix)
		if rel == "" || rel == "/" { // the catch-all: JSON 404s
			continue
		}
		registered[strings.TrimSpace(method+" "+rel)] = true
		item := doc.Paths.Value(rel)
		switch {
		case item == nil:
			t.Errorf("%s is served, but the description has no path %s", p, rel)
		case method != "" && item.GetOperation(method) == nil:
			t.Errorf("%s is served, but the description's %s has no %s", p, rel, method)
		}
	}
	for _, rel := range doc.Paths.InMatchingOrder() {
		if !registered[rel] {
			t.Errorf("%s has no method-less route answering other methods with a JSON 405", apitest.Prefix+rel)
		}
		for method := range doc.Paths.Value(rel).Operations() {
			if !registered[method+" "+rel] {
				t.Errorf("the description has %s %s, which the server does not route", method, apitest.Prefix+rel)
			}
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d API routes found: %v", len(registered), registered)
	}

	// An unknown method on every path, and unknown paths.
	check := func(method, path string) {
		t.Helper()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, nil)
		s.ServeHTTP(rec, req)
		x := apitest.Exchange{Request: req, RequestBody: []byte{}, Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if err := c.Check(x); err != nil {
			t.Error(err)
		}
	}
	for _, rel := range doc.Paths.InMatchingOrder() {
		path := apitest.Prefix + strings.NewReplacer("{name}", "docs", "{id}", "abc").Replace(rel)
		check("BREW", path)
		check(http.MethodOptions, path)
	}
	for _, p := range []string{"/api/v1", "/api/v1/", "/api/v1/nothing", "/api/v1/links/docs/nothing", "/api/v1/tokens/"} {
		check(http.MethodGet, p)
	}
}

// The description's error codes are exactly the codes, each with the
// status statusOf gives it, so that a code added or remapped in the code
// fails here until the description says so.
func TestOpenAPIErrorCodes(t *testing.T) {
	c, err := apitest.New(openapiJSON)
	if err != nil {
		t.Fatal(err)
	}
	doc := c.Doc()
	all := []links.Code{links.Invalid, links.NotFound, links.Conflict, links.Stale, links.Unauthorized, links.Forbidden,
		links.TooLarge, links.Unavailable, links.DiskFull, links.Internal, links.MethodNotAllowed, links.UnsupportedMediaType}
	var enum []links.Code
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		enum = append(enum, links.Code(v.(string)))
	}
	slices.Sort(all)
	slices.Sort(enum)
	if !slices.Equal(all, enum) {
		t.Errorf("ErrorCode enum %v; the codes are %v", enum, all)
	}

	// Each operation's error responses name the code of their status.
	for _, rel := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(rel).Operations() {
			for status, ref := range op.Responses.Map() {
				n, _ := strconv.Atoi(status)
				if n < 400 {
					continue
				}
				code := constCode(ref.Value.Content.Get("application/json").Schema.Value)
				if code == "" {
					t.Errorf("%s %s %s: no error code const", method, rel, status)
					continue
				}
				if got := statusOf(links.Errorf(code, "x")); got != n {
					t.Errorf("%s %s answers %s with code %s, which statusOf makes %d", method, rel, status, code, got)
				}
			}
		}
	}
}

// constCode finds the const of error.code in an error response's schema.
func constCode(s *openapi3.Schema) links.Code {
	for _, sub := range s.AllOf {
		if code := constCode(sub.Value); code != "" {
			return code
		}
	}
	if e := s.Properties["error"]; e != nil {
		if cd := e.Value.Properties["code"]; cd != nil && cd.Value.Const != nil {
			return links.Code(cd.Value.Const.(string))
		}
	}
	return ""
}

// A panic in an API handler is answered in the API's error shape, as
// every other API error is; elsewhere in plain text.
func TestPanicsOnTheAPIAnswerJSON(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := recoverPanics(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	for path, want := range map[string]string{
		"/api/v1/links": `{"error":{"code":"internal","message":"internal error"}}` + "\n",
		"/-/":           "internal error\n",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 500 || rec.Body.String() != want {
			t.Errorf("%s: %d %q, want 500 %q", path, rec.Code, rec.Body, want)
		}
	}
}
