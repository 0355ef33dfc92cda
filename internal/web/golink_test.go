package web_test

import (
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

// golink's conveniences on the redirect path: trailing punctuation from
// prose is trimmed, name+ opens the link's page, and a link may be called
// api while /api/v1/ stays the API.
func TestRedirectGolinkConveniences(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	ts.create(t, "a.", "https://dot.example") // a name may end in a dot: found as it is first
	ts.create(t, "api", "https://api-docs.example")
	ts.create(t, "_private", "https://private.example")
	for _, tc := range []struct{ path, loc string }{
		{"/docs.", "https://docs.example"},
		{"/docs,", "https://docs.example"},
		{"/docs)", "https://docs.example"},
		{"/docs).", "https://docs.example"},
		{"/docs]/x", "https://docs.example/x"},
		{"/a.", "https://dot.example"},
		{"/a..", "/-/"}, // trimmed to "a", which does not exist: 404 below
		{"/docs+", "/-/links/docs"},
		{"/docs+/x", "/-/links/docs"},
		{"/api", "https://api-docs.example"},
		{"/api/reference", "https://api-docs.example/reference"},
		{"/api/v2", "https://api-docs.example/v2"},
		{"/_private", "https://private.example"},
	} {
		r := ts.do(t, "GET", tc.path, "")
		if tc.loc == "/-/" {
			if r.status != 404 {
				t.Errorf("GET %s = %d, want 404", tc.path, r.status)
			}
			continue
		}
		if r.status != 302 || r.header.Get("Location") != tc.loc {
			t.Errorf("GET %s = %d %q, want 302 %q", tc.path, r.status, r.header.Get("Location"), tc.loc)
		}
	}
	// /api/v1 is still the API, whatever links exist.
	if r := ts.do(t, "GET", "/api/v1/links/api", ""); r.status != 200 || !strings.Contains(r.body, `"name":"api"`) {
		t.Fatalf("GET /api/v1/links/api = %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/nothing", ""), 404, links.NotFound, "no API endpoint")
}
