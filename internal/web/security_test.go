package web_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/web"
)

// hostileShortcuts are /-/go queries (the raw text after "q=") that try to
// make the shortcut's Location leave the go host: dot segments, backslashes
// (browsers read "/\host" as "//host"), tabs and newlines (browsers drop
// them, turning "/\t/host" into "//host"), scheme-relative and absolute
// URLs, and percent-encoded and double-encoded spellings of all of these.
// EVIL stands for the attacker's host.
var hostileShortcuts = []string{
	`docs/../%5CEVIL`,
	`docs/../\EVIL`,
	`docs/..\EVIL`,
	`docs/..%5CEVIL`,
	`docs/../%5C%5CEVIL`,
	`docs/../%2F%2FEVIL`,
	`docs/..%2F%5CEVIL`,
	`docs/%2e%2e/%5CEVIL`,
	`docs/%252e%252e/%255CEVIL`,
	`docs/.%2e/%5CEVIL`,
	`docs/./../%5CEVIL`,
	`docs/../../%5CEVIL`,
	`docs/../%09/EVIL`,
	`docs/../%0A/EVIL`,
	`docs/../%0D%0A/EVIL`,
	`docs/..%09/%5CEVIL`,
	`docs/../%00/%5CEVIL`,
	`docs/a%5Cb`,
	`docs/a\b`,
	`go/docs/../%5CEVIL`,
	`DOCS/../%5CEVIL`,
	`docs?x=1/../%5CEVIL`,
	`//EVIL`,
	`/%5CEVIL`,
	`%5C%5CEVIL`,
	`%5C/EVIL`,
	`go//EVIL`,
	`go/%5CEVIL`,
	`http://EVIL/`,
	`https:EVIL`,
	`%09//EVIL`,
	`EVIL`,
}

// roundTrip sends one request and returns the answer as it came: unlike
// http.Client it does not parse (and so cannot choke on) a bad Location.
// hdr are name, value pairs, added (so a name may come twice); "Host"
// sets the request's Host.
func (ts *testServer) roundTrip(t testing.TB, method, path string, hdr ...string) response {
	t.Helper()
	return ts.roundTripBody(t, method, path, "", hdr...)
}

func (ts *testServer) roundTripBody(t testing.TB, method, path, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// safeLocalLocation reports why loc is not a path on this host that a
// browser cannot turn into another host, or "" when it is safe.
func safeLocalLocation(loc string) string {
	switch {
	case !strings.HasPrefix(loc, "/"):
		return "not a local path"
	case strings.HasPrefix(loc, "//"):
		return "scheme-relative"
	case strings.ContainsAny(loc, "\\\t\r\n\x00"):
		return "holds a backslash or a control character"
	}
	for _, c := range loc {
		if c < 0x20 || c >= 0x7f {
			return "holds a raw control or non-ASCII character"
		}
	}
	p, _, _ := strings.Cut(loc, "?")
	for _, seg := range strings.Split(p, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return "bad escape"
		}
		if dec == "." || dec == ".." || strings.ContainsAny(dec, "\\\t\r\n\x00") {
			return "dot segment or backslash once unescaped"
		}
	}
	return ""
}

// The shortcut never answers a Location that leaves the go host: each
// hostile query is refused (400) or lands on a safe local path.
func TestGoSearchRefusesOpenRedirects(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	for _, raw := range hostileShortcuts {
		raw = strings.ReplaceAll(raw, "EVIL", "evil.example")
		r := ts.roundTrip(t, "GET", "/-/go?q="+raw)
		switch r.status {
		case http.StatusBadRequest:
			if !strings.Contains(r.body, "go/docs") && !strings.Contains(r.body, "may not") {
				t.Errorf("q=%s: 400 without a reason: %s", raw, r.body)
			}
		case http.StatusFound:
			loc := r.header.Get("Location")
			if why := safeLocalLocation(loc); why != "" {
				t.Errorf("q=%s: Location %q is unsafe: %s", raw, loc, why)
			}
		default:
			t.Errorf("q=%s: status %d, want 400 or 302", raw, r.status)
		}
	}
}

func TestGoSearchEscapesWhatItPassesOn(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "Team-Docs", "https://docs.example")
	tests := []struct{ q, want string }{
		{"teamdocs", "/Team-Docs"},
		{"go/team-docs/a/b", "/Team-Docs/a/b"},
		{"teamdocs/a b", "/Team-Docs/a%20b"},
		{"teamdocs/a%20b", "/Team-Docs/a%20b"},
		{"teamdocs/a%2Fb", "/Team-Docs/a%2Fb"},
		{"teamdocs/100%", "/Team-Docs/100%25"},
		{"teamdocs/a#b", "/Team-Docs/a%23b"},
		{"teamdocs/…", "/Team-Docs/%E2%80%A6"},
		{"teamdocs/a?x=1&y=a b", "/Team-Docs/a?x=1&y=a%20b"},
		{"teamdocs?x=1", "/Team-Docs?x=1"},
		{"teamdocs/...", "/Team-Docs/..."},
		{"nothing/../x", "/-/?q=nothing%2F..%2Fx"},
	}
	for _, tt := range tests {
		r := ts.roundTrip(t, "GET", "/-/go?q="+url.QueryEscape(tt.q))
		if r.status != http.StatusFound || r.header.Get("Location") != tt.want {
			t.Errorf("go?q=%q = %d %q, want 302 %q", tt.q, r.status, r.header.Get("Location"), tt.want)
		}
	}
}

// Every response carries the security headers, whichever route or error
// wrote it; link redirects carry no Referrer-Policy (docs/security.md).
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	form := "Content-Type"
	tests := []struct {
		method, path string
		hdr          []string
		status       int
		referrer     bool
	}{
		{"GET", "/docs/a", nil, 302, false},
		{"HEAD", "/docs", nil, 302, false},
		{"GET", "/", nil, 302, true}, // to /-/, not to a link
		{"GET", "/nothing", nil, 404, true},
		{"GET", "/-/", nil, 200, true},
		{"GET", "/-/links/docs", nil, 200, true},
		{"GET", "/-/help", nil, 200, true},
		{"GET", "/-/opensearch.xml", nil, 200, true},
		{"GET", "/-/static/style.css", nil, 200, true},
		{"GET", "/-/static/", nil, 404, true},
		{"GET", "/-/nothing", nil, 404, true},
		{"GET", "/-/go?q=docs", nil, 302, true},
		{"POST", "/-/links", []string{form, "application/x-www-form-urlencoded"}, 400, true},
		{"POST", "/-/links", []string{form, "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site"}, 403, true},
		{"GET", "/api/v1/links", nil, 200, true},
		{"GET", "/api/v1/links/nothing", nil, 404, true},
		{"DELETE", "/api/v1/links", nil, 405, true},
		{"POST", "/api/v1/links", []string{"Sec-Fetch-Site", "cross-site"}, 403, true},
		{"GET", "/api/v1/export", nil, 200, true},
		{"DELETE", "/docs", nil, 405, true},
	}
	for _, tt := range tests {
		r := ts.roundTrip(t, tt.method, tt.path, tt.hdr...)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, r.status, tt.status)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q", tt.method, tt.path, got)
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s %s: Content-Security-Policy %q lacks %s", tt.method, tt.path, csp, d)
			}
		}
		rp, has := r.header["Referrer-Policy"]
		switch {
		case tt.referrer && (len(rp) != 1 || rp[0] != "strict-origin-when-cross-origin"):
			t.Errorf("%s %s: Referrer-Policy %q, want strict-origin-when-cross-origin", tt.method, tt.path, rp)
		case !tt.referrer && has:
			t.Errorf("%s %s: a link redirect carries Referrer-Policy %q", tt.method, tt.path, rp)
		}
	}
}

func TestStaticDirectoryIsNotListed(t *testing.T) {
	ts := newTestServer(t, false)
	for _, p := range []string{"/-/static/", "/-/static", "/-/static/./", "/-/static/nothing/"} {
		r := ts.roundTrip(t, "GET", p)
		if r.status == http.StatusMovedPermanently || r.status == http.StatusTemporaryRedirect {
			r = ts.roundTrip(t, "GET", r.header.Get("Location"))
		}
		if r.status != http.StatusNotFound || strings.Contains(r.body, "style.css") {
			t.Errorf("GET %s = %d %q, want 404 without a listing", p, r.status, r.body)
		}
	}
	if r := ts.roundTrip(t, "GET", "/-/static/app.js"); r.status != 200 {
		t.Errorf("GET /-/static/app.js = %d", r.status)
	}
}

// opensearch.xml and the help page name the service by PUBLIC_URL when it
// is set, whatever Host the request claims; without it, only a plain host
// is repeated, and never into a shared cache.
func TestPublicURLNotTheRequestHost(t *testing.T) {
	pub := newTestServer(t, false, func(o *web.Options) { o.PublicURL = "https://go.example.com" })
	for _, p := range []string{"/-/opensearch.xml", "/-/help"} {
		r := pub.roundTrip(t, "GET", p, "Host", "evil.example", "X-Forwarded-Proto", "http")
		if r.status != 200 || strings.Contains(r.body, "evil.example") || !strings.Contains(r.body, "https://go.example.com/-/go?q=") {
			t.Errorf("GET %s with PUBLIC_URL and Host: evil.example = %d:\n%s", p, r.status, r.body)
		}
	}

	ts := newTestServer(t, false)
	r := ts.roundTrip(t, "GET", "/-/opensearch.xml", "Host", "go.internal:8080", "X-Forwarded-Proto", "https")
	if r.status != 200 || !strings.Contains(r.body, `template="https://go.internal:8080/-/go?q={searchTerms}"`) {
		t.Errorf("derived from the request: %d %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("a description derived from Host has Cache-Control %q, want no-store", cc)
	}
	// X-Forwarded-Proto from a peer that is not a trusted proxy says nothing.
	untrusted := newTestServer(t, false, func(o *web.Options) { o.Auth.Trusted = nil })
	for _, p := range []string{"/-/opensearch.xml", "/-/help"} {
		r := untrusted.roundTrip(t, "GET", p, "Host", "go.internal:8080", "X-Forwarded-Proto", "https")
		if r.status != 200 || strings.Contains(r.body, "https://go.internal") || !strings.Contains(r.body, "http://go.internal:8080") {
			t.Errorf("GET %s with X-Forwarded-Proto: https from an untrusted peer = %d:\n%s", p, r.status, r.body)
		}
	}
	for _, host := range []string{`evil.example"`, "evil.example%2F", "a'b", "evil.example:", "evil.example:80x", "[::1", "[1.2.3.4]", "a,b", "ev!l"} {
		r := ts.roundTrip(t, "GET", "/-/opensearch.xml", "Host", host)
		if r.status != http.StatusBadRequest || strings.Contains(r.body, host) {
			t.Errorf("Host %q: %d %q, want 400 without it", host, r.status, r.body)
		}
	}
}

// The API reads a link only from a JSON body: a form or text/plain post,
// which a browser sends cross-site without a preflight, is refused.
func TestAPIWantsJSONContentType(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	body := `{"name":"x","url":"https://x.example"}`
	for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/x-ndjson"} {
		for _, m := range []struct{ method, path string }{{"POST", "/api/v1/links"}, {"PUT", "/api/v1/links/docs"}} {
			req, _ := http.NewRequest(m.method, ts.URL+m.path, strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantError(t, response{resp.StatusCode, resp.Header, string(b)}, http.StatusUnsupportedMediaType, links.UnsupportedMediaType, "application/json")
		}
	}
	if r := ts.do(t, "GET", "/api/v1/links/docs", ""); !strings.Contains(r.body, `"url":"https://docs.example"`) {
		t.Fatalf("a refused PUT changed the link: %s", r.body)
	}
	if r := ts.do(t, "POST", "/api/v1/links", body, "Content-Type", "application/json; charset=utf-8"); r.status != http.StatusCreated {
		t.Fatalf("JSON with a charset: %d %s", r.status, r.body)
	}
}

// A cross-origin refusal is a JSON error on the API and a page on the site.
func TestCrossOriginRefusalShapes(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		for _, m := range []struct{ method, path string }{{"POST", "/api/v1/links"}, {"PUT", "/api/v1/links/docs"}, {"DELETE", "/api/v1/links/docs"}, {"POST", "/api/v1/import"}} {
			r := ts.do(t, m.method, m.path, `{"name":"x","url":"https://x.example"}`, hdr...)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s from another origin: Content-Type %q, body %q", m.method, m.path, ct, r.body)
				continue
			}
			wantError(t, r, http.StatusForbidden, links.Forbidden, "cross-origin")
		}
		r := ts.do(t, "POST", "/-/links/docs/delete", "", hdr...)
		if r.status != http.StatusForbidden || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "Cross-origin request refused") {
			t.Errorf("UI post from another origin: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	if ts.do(t, "GET", "/docs", "").status != http.StatusFound {
		t.Fatal("a refused cross-origin request deleted the link")
	}
}

// A search longer than the bound is a clear 400 on the UI, the shortcut
// and the API, not the database's "pattern too complex" 500.
func TestLongSearchQueryRefused(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	ok := strings.Repeat("d", 200)
	for _, n := range []int{201, 1000, 60000} {
		long := strings.Repeat("d", n)
		wantError(t, ts.do(t, "GET", "/api/v1/links?q="+long, ""), http.StatusBadRequest, links.Invalid, "at most 200 bytes")
		for _, p := range []string{"/-/?q=", "/-/go?q=", "/-/links?q="} {
			r := ts.do(t, "GET", p+long, "")
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "at most 200 bytes") {
				t.Errorf("GET %s<%d bytes>: %d %.200q", p, n, r.status, r.body)
			}
		}
	}
	if r := ts.do(t, "GET", "/api/v1/links?q="+ok, ""); r.status != 200 {
		t.Errorf("a 200-byte search: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/-/?q="+ok, ""); r.status != 200 {
		t.Errorf("a 200-byte search page: %d", r.status)
	}
	if r := ts.do(t, "GET", "/-/links?q="+ok, ""); r.status != 200 {
		t.Errorf("a 200-byte search of the directory: %d", r.status)
	}
	// The directory's and the list's other filters are bounded as a link's
	// own tags and owner are: each tag is one more LIKE over every row.
	var manyTags string
	for i := range 16 {
		manyTags += fmt.Sprintf("&tag=t%d", i)
	}
	manyTags = manyTags[1:]
	if r := ts.do(t, "GET", "/api/v1/links?"+manyTags, ""); r.status != 200 {
		t.Errorf("16 tag filters: %d %s", r.status, r.body)
	}
	for q, msg := range map[string]string{
		manyTags + "&tag=u":                 "at most 16 tags; this one has 17",
		"tag=" + strings.Repeat("t", 33):    "is 33 characters long; the limit is 32",
		"owner=" + strings.Repeat("o", 257): "owner is 257 bytes long; the limit is 256",
	} {
		wantError(t, ts.do(t, "GET", "/api/v1/links?"+q, ""), http.StatusBadRequest, links.Invalid, msg)
		if r := ts.do(t, "GET", "/-/links?"+q, ""); r.status != http.StatusBadRequest || !strings.Contains(r.body, msg) {
			t.Errorf("GET /-/links?%.40s...: %d", q, r.status)
		}
	}
	// The shortcut's path after a known name is not a search: not bounded here.
	if r := ts.do(t, "GET", "/-/go?q=docs/"+strings.Repeat("a", 2000), ""); r.status != http.StatusFound {
		t.Errorf("a long path after a link name: %d", r.status)
	}
}

// The identity header twice from the trusted proxy is refused with 401, on
// the API, the UI and redirects, and changes nothing.
func TestDuplicateIdentityHeaderRefused(t *testing.T) {
	ts := newTestServer(t, true)
	send := func(method, path, ct, body string, who ...string) response {
		hdr := []string{"Content-Type", ct}
		for _, w := range who {
			hdr = append(hdr, "X-Forwarded-Email", w)
		}
		return ts.roundTripBody(t, method, path, body, hdr...)
	}
	if r := send("POST", "/api/v1/links", "application/json", `{"name":"docs","url":"https://docs.example/{{.User}}"}`, "victim@x"); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	two := []string{"victim@x", "mallory@x"}
	wantError(t, send("POST", "/api/v1/links", "application/json", `{"name":"a","url":"https://a.example"}`, two...), 401, links.Unauthorized, "more than once")
	wantError(t, send("DELETE", "/api/v1/links/docs", "", "", two...), 401, links.Unauthorized, "more than once")
	for _, p := range []struct{ method, path string }{{"POST", "/-/links/docs/delete"}, {"GET", "/-/"}, {"GET", "/docs/x"}} {
		r := send(p.method, p.path, "application/x-www-form-urlencoded", "", two...)
		if r.status != 401 || !strings.Contains(r.body, "more than once") {
			t.Errorf("%s %s with two identities: %d %.300q", p.method, p.path, r.status, r.body)
		}
	}
	if r := send("GET", "/api/v1/links/docs", "", ""); r.status != 200 || !strings.Contains(r.body, `"owner":"victim@x"`) {
		t.Fatalf("the link after the refusals: %d %s", r.status, r.body)
	}
	if r := send("GET", "/docs/x", "", "", "victim@x"); r.status != 302 || r.header.Get("Location") != "https://docs.example/victim@x" {
		t.Errorf("one identity: %d %q", r.status, r.header.Get("Location"))
	}
}

// The link page shows an international host in punycode next to the form
// the URL has, so that a look-alike of an ASCII name stands out.
func TestLinkPageShowsPunycode(t *testing.T) {
	ts := newTestServer(t, false)
	tests := []struct {
		name, url string
		want      []string
	}{
		// Cyrillic р, а, у: looks like "paypal.com".
		{"pay", "https://раураl.com/login", []string{"<code>раураl.com</code> is an international domain name", "<code>xn--l-7sba6dbr.com</code>"}},
		{"apple", "https://xn--80ak6aa92e.com/", []string{"<code>xn--80ak6aa92e.com</code>", "browsers show it as <code>аррӏе.com</code>"}},
		{"wide", "https://ｅｘａｍｐｌｅ.com/", []string{"<code>ｅｘａｍｐｌｅ.com</code>", "DNS knows it as <code>example.com</code>"}},
		{"munich", "https://MÜNCHEN.de:8443/x", []string{"<code>xn--mnchen-3ya.de</code>"}},
		{"broken", "https://xn--zz.com/", []string{"not a valid international domain name"}},
		{"tmpl", "https://раураl.com/{{.Path}}", []string{"<code>xn--l-7sba6dbr.com</code>"}},
	}
	for _, tt := range tests {
		ts.create(t, tt.name, tt.url)
		r := ts.do(t, "GET", "/-/links/"+tt.name, "")
		for _, w := range tt.want {
			if r.status != 200 || !strings.Contains(r.body, w) {
				t.Errorf("%s (%s): page lacks %q", tt.name, tt.url, w)
			}
		}
	}
	ts.create(t, "plain", "https://paypal.com/x_y")
	if r := ts.do(t, "GET", "/-/links/plain", ""); strings.Contains(r.body, `class="idn"`) {
		t.Error("an ASCII host is flagged as an international domain name")
	}
}

// A form past the body limit says so (413), rather than "name is required".
func TestLargeFormRefused(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	big := url.Values{"name": {"docs"}, "url": {"https://x.example"}, "description": {strings.Repeat("d", 70<<10)}}.Encode()
	for _, p := range []string{"/-/links", "/-/links/docs"} {
		r := ts.do(t, "POST", p, big, "Content-Type", "application/x-www-form-urlencoded")
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "larger than 64 KiB") {
			t.Errorf("POST %s with a 70 KiB form: %d", p, r.status)
		}
	}
	if r := ts.do(t, "GET", "/docs", ""); r.header.Get("Location") != "https://docs.example" {
		t.Errorf("a refused form changed the link: %q", r.header.Get("Location"))
	}
}

// No request path makes any route (the mux's own clean-up redirects, the
// file server, the link redirect's "/" case) answer a Location that leaves
// the host. The paths are sent byte for byte, as an attacker would.
func TestNoRouteRedirectsOffHost(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	for _, p := range []string{
		`//evil.example`, `//evil.example/`, `/%2F%2Fevil.example`, `/\evil.example`, `/%5Cevil.example`, `/\/evil.example`,
		`/-//evil.example`, `/-/\evil.example`, `/-/..//evil.example`, `/-/static//evil.example`, `/-/static/..//evil.example`,
		`/-/static/%5C%5Cevil.example/`, `/-/static/index.html`, `/-/static//evil.example/index.html`, `/-/static/\evil.example/index.html`,
		`/-/static`, `/-/links/..//evil.example`, `/api/..//evil.example`, `/docs/..//evil.example`,
		`/-/go?q=docs/../%5Cevil.example`, `/-/go?q=docs/..%2F%2Fevil.example`,
	} {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: go\r\nConnection: close\r\n\r\n", p)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			conn.Close()
			t.Fatalf("GET %s: %v", p, err)
		}
		resp.Body.Close()
		conn.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			continue
		}
		// Resolve it as a browser would, reading "\" as "/".
		base, err := url.Parse("http://go" + strings.ReplaceAll(p, `\`, "/"))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := url.Parse(strings.ReplaceAll(loc, `\`, "/"))
		if err != nil {
			t.Errorf("GET %s: Location %q does not parse: %v", p, loc, err)
			continue
		}
		host := base.ResolveReference(ref).Host
		if host != "go" && !(strings.HasPrefix(p, "/docs/") && host == "docs.example") {
			t.Errorf("GET %s: Location %q leads to %s", p, loc, host)
		}
	}
}
