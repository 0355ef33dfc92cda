package web_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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

// golinkCommit is the tailscale/golink commit the expectations below come
// from: its golink_test.go (TestServeGo, TestExpandLink, TestResolveLink)
// where a case is named after one, and otherwise its golink.go (serveGo:
// the "+" suffix and trailing punctuation; expandLink: the implicit
// {{with .Path}}/{{.}}{{end}}, url.Parse and String, the query merged with
// url.Values and re-encoded by Encode).
const golinkCommit = "c4eca52fa35697a40a311cb6fa3b9b1c9b69705e"

// golinkLinks is a golink export (/.export: one JSON Link per line) of the
// links the cases use. golink's relative targets of the form /NAME (its
// alias form: TestResolveLink's chat -> /meet) import as aliases, in any
// order of the lines and through chains; its other relative targets
// (/who/{{.User}}) are refused at import (TestGolinkImportRefusals), so
// those of its tests are here with the targets made absolute.
var golinkLinks = []struct{ Short, Long string }{
	{"early", "/who"}, // an alias before its target
	{"who", "http://who/"},
	{"chat", "/meet"},      // TestResolveLink
	{"chat2", "/chat"},     // an alias of an alias: golink takes two hops
	{"fsa", "/fooslash/"},  // the alias form with a trailing slash
	{"calalias", "/cal"},   // an alias of a template
	{"mealias", "/me"},     // ... that needs the user
	{"relqalias", "/relq"}, // ... of a target with a query
	{"Who-Alias", "/WHO"},  // names in any spelling
	{"me", "http://who/{{.User}}"},
	{"esc", "http://host.com/foo%2f/bar"},
	{"foo", "http://host.com/foo"},
	{"fooslash", "http://host.com/foo/"},
	{"roam", `https://roamresearch.com/#/app/ts-corp/page/{{.Now.Format "01-02-2006"}}`},
	{"cal", "https://calendar.google.com/{{with .Path}}calendar/embed?mode=week&src={{.}}@tailscale.com{{end}}"},
	{"pe", "http://host.com/{{PathEscape .Path}}"},
	{"qe", "http://host.com/{{QueryEscape .Path}}"},
	{"tp", `http://host.com/{{TrimPrefix .Path "BUG-"}}`},
	{"ts", `http://host.com/{{TrimSuffix .Path "/"}}`},
	{"lower", `http://host.com/{{ToLower .Path}}`},
	{"upper", `http://host.com/{{ToUpper .Path}}`},
	{"match", `http://host.com/{{if Match "\\d+" .Path}}id/{{.Path}}{{else}}search/{{.Path}}{{end}}`},
	{"rel", "http://host.com/rel"},
	{"relq", "http://host.com/rel?a=1"},
	{"reltmpl", "http://host.com/rel{{with .Path}}/{{.}}{{end}}?a=1"},
	{"meet", "https://meet.google.com/lookup/"},
	{"cs", "http://codesearch/{{with .Path}}search?q={{.}}{{end}}"},
	{"m", "http://go/meet"},
	{"unsorted", "http://host.com/s?b=1&a=2"},
	{"inquery", "http://host.com/s?q=1"},
	{"hash", "http://host.com/#/app"},
	{"_under", "http://under.example/"},
	{"a.b", "http://dots.example/"},
	{"Team-Docs", "http://team.example/docs"},
}

// TestGolinkCompatibility imports a golink export and checks that every
// link answers as golink answers: the same Location for each request.
func TestGolinkCompatibility(t *testing.T) {
	ts := newTestServer(t, true) // proxy auth: requests can carry a user for .User
	user := []string{"X-Forwarded-Email", "foo@example.com"}
	var export strings.Builder
	for _, l := range golinkLinks {
		b, _ := json.Marshal(map[string]any{"Short": l.Short, "Long": l.Long,
			"Created": "2022-06-02T01:02:03Z", "LastEdit": "2022-06-02T01:02:03Z", "Owner": "foo@example.com"})
		export.Write(append(b, '\n'))
	}
	if r := ts.do(t, "POST", "/api/v1/import", export.String(), append([]string{"Content-Type", "application/x-ndjson"}, user...)...); r.status != 200 {
		t.Fatalf("importing the golink export: %d %s", r.status, r.body)
	}
	today := func() string { return time.Now().UTC().Format("01-02-2006") }
	before := today()
	tests := []struct {
		source, path string
		anonymous    bool
		status       int
		location     string
	}{
		{"TestServeGo simple link", "/who", false, 302, "http://who/"},
		{"TestServeGo simple link, anonymous request", "/who", true, 302, "http://who/"},
		{"TestServeGo simple link with path", "/who/p", false, 302, "http://who/p"},
		{"TestServeGo simple link with query", "/who?q=1", false, 302, "http://who/?q=1"},
		{"TestServeGo simple link with path and query", "/who/p?q=1", false, 302, "http://who/p?q=1"},
		{"TestServeGo simple link with double slash in path", "/who/http://host", false, 302, "http://who/http://host"},
		{"TestServeGo simple link, trailing period", "/who.", false, 302, "http://who/"},
		{"TestServeGo simple link, trailing comma", "/who,", false, 302, "http://who/"},
		{"TestServeGo simple link, trailing comma and path", "/who,/p", false, 302, "http://who/p"},
		{"TestServeGo simple link, trailing paren", "/who)", false, 302, "http://who/"},
		{"serveGo TrimRight .,()[]{}", "/who]}", false, 302, "http://who/"},
		{"TestServeGo user link", "/me", false, 302, "http://who/foo@example.com"},
		{"TestServeGo user link, anonymous request", "/me", true, 401, ""},
		{"TestServeGo unknown link", "/does-not-exist", false, 404, ""},
		{"serveGo: name+ opens the link's page (golink: /.detail/who)", "/who+", false, 302, "/-/links/who"},
		{"TestExpandLink dont-mangle-escapes", "/esc", false, 302, "http://host.com/foo%2f/bar"},
		{"TestExpandLink dont-mangle-escapes-and-remainder", "/esc/extra", false, 302, "http://host.com/foo%2f/bar/extra"},
		{"expandLink: an empty remainder adds nothing", "/esc/", false, 302, "http://host.com/foo%2f/bar"},
		{"TestExpandLink remainder-insert-slash", "/foo/extra", false, 302, "http://host.com/foo/extra"},
		{"TestExpandLink remainder-long-as-trailing-slash", "/fooslash/extra", false, 302, "http://host.com/foo/extra"},
		{"TestExpandLink var-expansions-time", "/roam", false, 302, "https://roamresearch.com/#/app/ts-corp/page/" + before},
		{"TestExpandLink template-no-path", "/cal", false, 302, "https://calendar.google.com/"},
		{"TestExpandLink template-with-path", "/cal/amelie", false, 302, "https://calendar.google.com/calendar/embed?mode=week&src=amelie@tailscale.com"},
		{"TestExpandLink template-with-pathescape-func", "/pe/a/b+c", false, 302, "http://host.com/a%2Fb+c"},
		{"TestExpandLink template-with-queryescape-func", "/qe/a/b+c", false, 302, "http://host.com/a%2Fb%2Bc"},
		{"TestExpandLink template-with-trimprefix-func", "/tp/BUG-123", false, 302, "http://host.com/123"},
		{"TestExpandLink template-with-trimsuffix-func", "/ts/a/", false, 302, "http://host.com/a"},
		{"TestExpandLink template-with-tolower-func", "/lower/BUG-123", false, 302, "http://host.com/bug-123"},
		{"TestExpandLink template-with-toupper-func", "/upper/bug-123", false, 302, "http://host.com/BUG-123"},
		{"TestExpandLink template-with-match-func", "/match/123", false, 302, "http://host.com/id/123"},
		{"TestExpandLink template-with-match-func2", "/match/query", false, 302, "http://host.com/search/query"},
		{"TestExpandLink query-string", "/rel?a=b", false, 302, "http://host.com/rel?a=b"},
		{"TestExpandLink path-and-query-string", "/rel/path?a=b", false, 302, "http://host.com/rel/path?a=b"},
		{"TestExpandLink combine-query-string", "/relq?a=2&b=2", false, 302, "http://host.com/rel?a=1&a=2&b=2"},
		{"TestExpandLink template-and-combined-query-string", "/reltmpl/path?b=2", false, 302, "http://host.com/rel/path?a=1&b=2"},
		{"TestResolveLink meet/foo", "/meet/foo", false, 302, "https://meet.google.com/lookup/foo"},
		{"TestResolveLink cs", "/cs", false, 302, "http://codesearch/"},
		{"TestResolveLink cs/term", "/cs/term", false, 302, "http://codesearch/search?q=term"},
		{"serveGo: a link to http://go/... redirects there (the browser takes the second hop)", "/m/foo", false, 302, "http://go/meet/foo"},
		{"expandLink: Encode sorts the merged query by key", "/unsorted?c=3", false, 302, "http://host.com/s?a=2&b=1&c=3"},
		{"expandLink: no request query, the target's query as it is", "/unsorted", false, 302, "http://host.com/s?b=1&a=2"},
		{"expandLink: the request's values are re-encoded", "/rel?q=a%20b&z&y=1", false, 302, "http://host.com/rel?q=a+b&y=1&z="},
		{"expandLink: the remainder is appended to the target's text, here its query", "/inquery/a", false, 302, "http://host.com/s?q=1/a"},
		{"expandLink: ... and re-encoded with a request query", "/inquery/a?b=2", false, 302, "http://host.com/s?b=2&q=1%2Fa"},
		{"expandLink: the remainder extends a fragment", "/hash/page", false, 302, "http://host.com/#/app/page"},
		{"linkID: case and dashes ignored", "/TEAMDOCS/x", false, 302, "http://team.example/docs/x"},
		{"reShortName: a leading underscore", "/_under/x", false, 302, "http://under.example/x"},
		{"reShortName: dots", "/a.b", false, 302, "http://dots.example/"},
		// Aliases: golink answers go/chat/foo with Location /chat's target
		// expanded (/meet/foo), and the browser's second request with
		// meet's; Signpost answers the second Location at once.
		{"TestResolveLink chat/foo (aliased go links without hostname)", "/chat/foo", false, 302, "https://meet.google.com/lookup/foo"},
		{"alias: expandLink(/meet) then meet", "/chat", false, 302, "https://meet.google.com/lookup/"},
		{"alias: the query passes through both hops", "/chat?x=1", false, 302, "https://meet.google.com/lookup/?x=1"},
		{"alias of an alias: three hops in golink", "/chat2/foo", false, 302, "https://meet.google.com/lookup/foo"},
		{"alias before its target in the export", "/early/p?q=1", false, 302, "http://who/p?q=1"},
		{"alias with a trailing slash: /fooslash/ + extra", "/fsa/extra", false, 302, "http://host.com/foo/extra"},
		{"alias of a template", "/calalias/amelie", false, 302, "https://calendar.google.com/calendar/embed?mode=week&src=amelie@tailscale.com"},
		{"alias of a template that needs the user", "/mealias", false, 302, "http://who/foo@example.com"},
		{"alias of a template that needs the user, anonymous", "/mealias", true, 401, ""},
		{"alias: query merged by both hops' Encode", "/relqalias?a=2&b=2", false, 302, "http://host.com/rel?a=1&a=2&b=2"},
		{"alias: the request's values re-encoded", "/chat?q=a%20b&z&y=1", false, 302, "https://meet.google.com/lookup/?q=a+b&y=1&z="},
		{"alias: trailing punctuation trimmed first", "/chat).", false, 302, "https://meet.google.com/lookup/"},
		{"alias+ opens the alias's page", "/chat+", false, 302, "/-/links/chat"},
		{"alias named in any spelling, to a target in any spelling", "/whoalias/x", false, 302, "http://who/x"},
	}
	for _, tc := range tests {
		hdr := user
		if tc.anonymous {
			hdr = nil
		}
		r := ts.do(t, "GET", tc.path, "", hdr...)
		loc := r.header.Get("Location")
		if tc.source == "TestExpandLink var-expansions-time" && loc != tc.location {
			tc.location = strings.TrimSuffix(tc.location, before) + today() // midnight passed meanwhile
		}
		if r.status != tc.status || loc != tc.location {
			t.Errorf("%s: GET %s = %d %q; golink (%.7s) answers %d %q", tc.source, tc.path, r.status, loc, golinkCommit, tc.status, tc.location)
		}
	}
}

// What golink accepts and Signpost does not, is refused at import with the
// line and the reason (and nothing is imported), never served differently:
// a relative target other than /NAME (here a template that cannot run
// either: golink answers it with a 500 at redirect time), an alias of a
// link that is neither in the export nor stored, and a reserved name.
func TestGolinkImportRefusals(t *testing.T) {
	ts := newTestServer(t, false)
	export := `{"Short":"who","Long":"http://who/"}
{"Short":"invalid-var","Long":"/who/{{.Invalid}}"}
{"Short":"chat","Long":"/meet"}
{"Short":"healthz","Long":"http://health.example/"}
`
	r := ts.do(t, "POST", "/api/v1/import", export, "Content-Type", "application/x-ndjson")
	var rep struct {
		Lines []struct {
			Line   int
			Reason string
		}
	}
	json.Unmarshal([]byte(r.body), &rep)
	if r.status != 400 || len(rep.Lines) != 3 || rep.Lines[0].Line != 2 || !strings.Contains(rep.Lines[0].Reason, "relative target") ||
		rep.Lines[1].Line != 3 || !strings.Contains(rep.Lines[1].Reason, "neither in this file nor stored") || rep.Lines[2].Line != 4 || !strings.Contains(rep.Lines[2].Reason, "reserved") {
		t.Fatalf("import of lines Signpost refuses: %d %s", r.status, r.body)
	}
	if ts.do(t, "GET", "/who", "").status != 404 {
		t.Fatal("an import with bad lines stored its good one")
	}
}
