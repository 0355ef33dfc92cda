package web_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/web"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

// openapiChecker is the description, loaded once for all tests.
var openapiChecker = sync.OnceValues(func() (*apitest.Checker, error) { return apitest.New(web.OpenAPI()) })

func checker(t testing.TB) *apitest.Checker {
	t.Helper()
	c, err := openapiChecker()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serve runs h for a test. Every test server here is made by it, so every
// API exchange of every test is checked against the OpenAPI description.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(apitest.Handler(t, checker(t), h))
	t.Cleanup(srv.Close)
	return srv
}

// TestMain fails a whole run of this package's tests (no -run or -skip)
// in which a described operation was never exercised: each needs a test
// whose exchanges the description checks. Statuses no test reaches are
// listed with -v.
func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != "" {
		os.Exit(code)
	}
	c, err := openapiChecker()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ops, statuses := c.Unexercised()
	if testing.Verbose() && len(statuses) > 0 {
		fmt.Printf("OpenAPI: statuses no test reaches: %s\n", strings.Join(statuses, ", "))
	}
	if len(ops) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: OpenAPI: no test exercises %s\n", strings.Join(ops, ", "))
		os.Exit(1)
	}
	os.Exit(code)
}

// operation is one operation of the description, with its path as this
// server serves it (path parameters filled in).
type operation struct {
	method, rel, path string
	op                *openapi3.Operation
}

func operations(t testing.TB) []operation {
	doc := checker(t).Doc()
	var out []operation
	for _, rel := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(rel).Operations() {
			path := apitest.Prefix + strings.NewReplacer("{name}", "docs", "{id}", "abc").Replace(rel)
			out = append(out, operation{method, rel, path, op})
		}
	}
	slices.SortFunc(out, func(a, b operation) int { return strings.Compare(a.method+a.path, b.method+b.path) })
	return out
}

// The description is served as written, with an ETag that a client's
// If-None-Match turns into 304, to anyone (REQUIRE_LOGIN or not: it is
// the same for every server of a version).
func TestOpenAPIServed(t *testing.T) {
	for name, ts := range map[string]*testServer{"open": newTestServer(t, false), "REQUIRE_LOGIN": newProxyServer(t, true)} {
		r := ts.do(t, "GET", "/api/v1/openapi.json", "")
		if r.status != 200 || r.body != string(web.OpenAPI()) || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s %.100q", name, r.status, r.header.Get("Content-Type"), r.body)
		}
		var doc struct{ OpenAPI string }
		if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc.OpenAPI != "3.1.0" {
			t.Fatalf("%s: openapi %q, %v", name, doc.OpenAPI, err)
		}
		etag := r.header.Get("ETag")
		if etag == "" {
			t.Fatalf("%s: no ETag", name)
		}
		if r := ts.do(t, "GET", "/api/v1/openapi.json", "", "If-None-Match", etag); r.status != http.StatusNotModified || r.body != "" {
			t.Errorf("%s: If-None-Match %s: %d %q", name, etag, r.status, r.body)
		}
		if r := ts.do(t, "GET", "/api/v1/openapi.json", "", "If-None-Match", `"old"`); r.status != 200 {
			t.Errorf("%s: If-None-Match of another version: %d", name, r.status)
		}
		if r := ts.do(t, "HEAD", "/api/v1/openapi.json", ""); r.status != 200 || r.header.Get("ETag") != etag {
			t.Errorf("%s: HEAD: %d %v", name, r.status, r.header)
		}
		wantError(t, ts.do(t, "DELETE", "/api/v1/openapi.json", ""), 405, links.MethodNotAllowed, "GET, HEAD")
	}
}

// Every operation that takes a body refuses one in another media type
// with 415 in the error shape (a browser posts text/plain and forms
// cross-site without asking first), and the description says so.
func TestBodiesOfAnotherMediaTypeAre415(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	n := 0
	for _, o := range operations(t) {
		if o.op.RequestBody == nil {
			continue
		}
		n++
		if o.op.Responses.Status(415) == nil {
			t.Errorf("%s %s takes a body but does not list 415", o.method, o.rel)
		}
		body := `{"name":"docs","url":"https://docs.example","version":1,"scopes":["links:read"]}`
		for _, ct := range []string{"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
			r := ts.do(t, o.method, o.path, body, "Content-Type", ct)
			wantError(t, r, http.StatusUnsupportedMediaType, links.UnsupportedMediaType, "Content-Type")
		}
	}
	if n < 6 { // links POST, PUT, PATCH; restore; import; tokens POST
		t.Fatalf("only %d operations take a body", n)
	}
	if r := ts.do(t, "GET", "/api/v1/links/docs", ""); r.status != 200 || !strings.Contains(r.body, `"version":1`) {
		t.Fatalf("a refused body changed the link: %d %s", r.status, r.body)
	}
}

// Every operation a browser could be tricked into sending cross-site
// (POST, PUT, PATCH, DELETE) refuses it with 403 in the error shape, and
// the description says so.
func TestCrossOriginRefusalsAreJSON(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	n := 0
	for _, o := range operations(t) {
		if o.method == "GET" {
			continue
		}
		n++
		if o.op.Responses.Status(403) == nil {
			t.Errorf("%s %s does not list 403", o.method, o.rel)
		}
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			r := ts.do(t, o.method, o.path, `{"url":"https://evil.example"}`, h...)
			wantError(t, r, http.StatusForbidden, links.Forbidden, "cross-origin request refused")
		}
	}
	if n < 8 {
		t.Fatalf("only %d operations change anything", n)
	}
	if r := ts.do(t, "GET", "/api/v1/links/docs", ""); r.status != 200 || !strings.Contains(r.body, "https://docs.example") {
		t.Fatalf("a refused cross-origin request changed the link: %d %s", r.status, r.body)
	}
}

// Every JSON body over 64 KiB is refused with 413 (the import's 64 MiB
// has its own test), and a bad token is refused with 401 by every
// operation, the open description included: never served as anonymous.
// Both as the description lists them.
func TestEveryOperationRefusesOversizeBodiesAndBadTokens(t *testing.T) {
	ts := newProxyServer(t, false)
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://docs.example"}`, as("ana@x")...); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	big := `{"description":"` + strings.Repeat("x", 64<<10) + `"}`
	bad := bearer("sp_0000000000000000_" + strings.Repeat("x", 43))
	for _, o := range operations(t) {
		if o.op.RequestBody != nil && o.rel != "/import" {
			ct := "application/json"
			if o.op.RequestBody.Value.Content.Get(ct) == nil {
				t.Fatalf("%s %s takes no JSON", o.method, o.rel)
			}
			r := ts.do(t, o.method, o.path, big, append(as("ana@x"), "Content-Type", ct)...)
			wantError(t, r, http.StatusRequestEntityTooLarge, links.TooLarge, "larger than")
		}
		r := ts.do(t, o.method, o.path, "", bad...)
		wantError(t, r, http.StatusUnauthorized, links.Unauthorized, "token")
	}
}
