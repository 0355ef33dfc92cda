package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
func (ts *testServer) roundTrip(t testing.TB, method, path string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
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
