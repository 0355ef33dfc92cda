package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
	"github.com/signpost-go/signpost/internal/web"
)

type testServer struct {
	*httptest.Server
	store *sqlite.Store
	index *index.Index
	path  string // the SQLite file
}

// newTestServer runs the full handler over a real SQLite file. proxyAuth
// turns on AUTH_MODE=proxy with loopback trusted; opts adjust the options
// (the links service is opt.Links).
func newTestServer(t testing.TB, proxyAuth bool, opts ...func(*web.Options)) *testServer {
	t.Helper()
	return newTestServerWith(t, proxyAuth, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
}

// newTestServerWith is newTestServer logging to log.
func newTestServerWith(t testing.TB, proxyAuth bool, log *slog.Logger, opts ...func(*web.Options)) *testServer {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "web.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix := index.New(log)
	if err := ix.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	mode := auth.ModeNone
	if proxyAuth {
		mode = auth.ModeProxy
	}
	opt := web.Options{
		Links: &links.Service{Store: st, Index: ix, Tokens: st, Enforce: proxyAuth, Log: log},
		Index: ix,
		Auth: &auth.Resolver{Mode: mode, Header: "X-Forwarded-Email",
			Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}},
		Log: log,
	}
	for _, o := range opts {
		o(&opt)
	}
	h, err := web.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, h)
	return &testServer{Server: srv, store: st, index: ix, path: path}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type response struct {
	status int
	header http.Header
	body   string
}

func (ts *testServer) do(t testing.TB, method, path, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (ts *testServer) create(t testing.TB, name, target string) {
	t.Helper()
	r := ts.do(t, "POST", "/api/v1/links", fmt.Sprintf(`{"name":%q,"url":%q}`, name, target))
	if r.status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", name, r.status, r.body)
	}
}

func wantError(t *testing.T, r response, status int, code links.Code, msg string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    links.Code `json:"code"`
			Message string     `json:"message"`
		} `json:"error"`
	}
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("error body is not JSON: %q", r.body)
	}
	if body.Error.Code != code || !strings.Contains(body.Error.Message, msg) {
		t.Fatalf("error = %+v, want code %q containing %q", body.Error, code, msg)
	}
}

func TestRedirect(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "Team-Docs", "https://docs.example/base")
	tests := []struct {
		path, want string
	}{
		{"/team-docs", "https://docs.example/base"},
		{"/teamdocs", "https://docs.example/base"},
		{"/TEAMDOCS/a/b?x=1", "https://docs.example/base/a/b?x=1"},
		{"/Team-Docs/", "https://docs.example/base"}, // golink: nothing after the slash, nothing appended
		{"/teamdocs/a%2Fb%20c", "https://docs.example/base/a%2Fb%20c"},
		// What follows the name stays escaped as sent: an escaped ? or #
		// does not become the target's query or fragment, a space stays %20.
		{"/teamdocs/a%3Fb?x=1", "https://docs.example/base/a%3Fb?x=1"},
		{"/teamdocs/a%23frag", "https://docs.example/base/a%23frag"},
		{"/teamdocs/a%20b", "https://docs.example/base/a%20b"},
		{"/team%2Ddocs/x", "https://docs.example/base/x"},
		// The query is merged as golink merges it: re-encoded, sorted by key.
		{"/teamdocs?b=2&a=1", "https://docs.example/base?a=1&b=2"},
	}
	for _, tt := range tests {
		r := ts.do(t, "GET", tt.path, "")
		if r.status != http.StatusFound || r.header.Get("Location") != tt.want {
			t.Errorf("GET %s = %d %q, want 302 %q", tt.path, r.status, r.header.Get("Location"), tt.want)
		}
	}
	if got := ts.index.Pending("teamdocs"); got != int64(len(tests)) {
		t.Errorf("pending clicks = %d, want %d", got, len(tests))
	}
	r := ts.do(t, "HEAD", "/teamdocs", "")
	if r.status != http.StatusFound {
		t.Errorf("HEAD = %d", r.status)
	}
	if r := ts.do(t, "GET", "/", ""); r.status != http.StatusFound || r.header.Get("Location") != "/-/" {
		t.Errorf("GET / = %d %q", r.status, r.header.Get("Location"))
	}
}

func TestRedirectTemplate(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "gh", "https://github.com/search?q={{QueryEscape .Path}}&{{.Query}}")
	r := ts.do(t, "GET", "/gh/go%20vet?type=code", "")
	if want := "https://github.com/search?q=go+vet&type=code"; r.status != 302 || r.header.Get("Location") != want {
		t.Fatalf("got %d %q, want %q", r.status, r.header.Get("Location"), want)
	}
}

func TestNotFoundOffersCreation(t *testing.T) {
	ts := newTestServer(t, false)
	r := ts.do(t, "GET", "/newthing/x", "")
	if r.status != http.StatusNotFound {
		t.Fatalf("status %d", r.status)
	}
	for _, want := range []string{`action="/-/links"`, `name="name" value="newthing"`, `name="url"`, "go/newthing does not exist yet"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("not-found page lacks %q", want)
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	r = ts.do(t, "GET", "/bad%20name", "")
	if r.status != 404 || strings.Contains(r.body, `action="/-/links"`) || !strings.Contains(r.body, "go/bad name cannot be a link") || !strings.Contains(r.body, `The name &#34;bad name&#34; contains a space;`) {
		t.Errorf("invalid name page: %d", r.status)
	}
}

func TestAPICreateValidation(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://d.example")
	big := strings.Repeat("x", 70<<10)
	tests := []struct {
		name, body string
		status     int
		code       links.Code
		msg        string
	}{
		{"duplicate", `{"name":"Docs","url":"https://e.example"}`, 409, links.Conflict, "already exists"},
		{"reserved", `{"name":"metrics","url":"https://e.example"}`, 400, links.Invalid, "reserved"},
		{"bad name", `{"name":"a b","url":"https://e.example"}`, 400, links.Invalid, "contains"},
		{"javascript", `{"name":"x","url":"javascript:alert(1)"}`, 400, links.Invalid, "not allowed"},
		{"relative", `{"name":"x","url":"/etc"}`, 400, links.Invalid, "relative"},
		{"bad template", `{"name":"x","url":"https://x.example/{{.Nope}}"}`, 400, links.Invalid, "template"},
		{"missing url", `{"name":"x"}`, 400, links.Invalid, "url is required"},
		{"not json", `{"name":`, 400, links.Invalid, "not valid JSON"},
		{"unknown field", `{"name":"x","url":"https://x.example","colour":"red"}`, 400, links.Invalid, "colour"},
		{"empty", ``, 400, links.Invalid, "empty"},
		{"too large", `{"name":"x","url":"https://x.example","description":"` + big + `"}`, 413, links.TooLarge, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.URL+"/api/v1/links", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantError(t, response{resp.StatusCode, resp.Header, string(b)}, tt.status, tt.code, tt.msg)
		})
	}
}

func TestAPICRUD(t *testing.T) {
	ts := newTestServer(t, false)
	r := ts.do(t, "POST", "/api/v1/links", `{"name":"Wiki","url":"https://wiki.example","description":"the wiki"}`)
	if r.status != 201 || r.header.Get("Location") != "/api/v1/links/Wiki" {
		t.Fatalf("create: %d %v", r.status, r.header)
	}
	var rec links.Record
	json.Unmarshal([]byte(r.body), &rec)
	if rec.Name != "Wiki" || rec.Description != "the wiki" || rec.CreatedAt.IsZero() || rec.LastClickedAt != nil {
		t.Fatalf("created record %+v", rec)
	}
	for _, k := range []string{`"name"`, `"url"`, `"description"`, `"owner"`, `"clicks"`, `"last_clicked_at"`, `"created_at"`, `"updated_at"`} {
		if !strings.Contains(r.body, k) {
			t.Errorf("record lacks %s: %s", k, r.body)
		}
	}
	if r := ts.do(t, "GET", "/api/v1/links/wiki", ""); r.status != 200 || !strings.Contains(r.body, `"name":"Wiki"`) {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/links/nope", ""), 404, links.NotFound, "not found")

	// PATCH (a JSON merge patch) changes only the fields present.
	r = ts.do(t, "PATCH", "/api/v1/links/wiki", `{"url":"https://wiki2.example","tags":["docs"]}`)
	json.Unmarshal([]byte(r.body), &rec)
	if r.status != 200 || rec.URL != "https://wiki2.example" || rec.Description != "the wiki" || rec.Name != "Wiki" || fmt.Sprint(rec.Tags) != "[docs]" {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if loc := ts.do(t, "GET", "/wiki", "").header.Get("Location"); loc != "https://wiki2.example" {
		t.Fatalf("redirect after update = %q", loc)
	}
	// PUT replaces: what it leaves out is cleared.
	r = ts.do(t, "PUT", "/api/v1/links/wiki", `{"url":"https://wiki3.example"}`)
	json.Unmarshal([]byte(r.body), &rec)
	if r.status != 200 || rec.URL != "https://wiki3.example" || rec.Description != "" || len(rec.Tags) != 0 || rec.Name != "wiki" {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "PUT", "/api/v1/links/wiki", `{"description":"no url"}`), 400, links.Invalid, "url is required")
	// Rename.
	r = ts.do(t, "PATCH", "/api/v1/links/wiki", `{"name":"Handbook"}`)
	if r.status != 200 {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	if ts.do(t, "GET", "/wiki", "").status != 404 || ts.do(t, "GET", "/handbook", "").status != 302 {
		t.Fatal("rename not reflected in redirects")
	}
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/handbook", `{"url":"ftp://x"}`), 400, links.Invalid, "not allowed")

	if r := ts.do(t, "DELETE", "/api/v1/links/handbook", ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if ts.do(t, "GET", "/handbook", "").status != 404 {
		t.Fatal("deleted link still redirects")
	}
	wantError(t, ts.do(t, "DELETE", "/api/v1/links/handbook", ""), 404, links.NotFound, "not found")
	wantError(t, ts.do(t, "GET", "/api/v1/nothing", ""), 404, links.NotFound, "no API endpoint")
}

func TestAPIList(t *testing.T) {
	ts := newTestServer(t, false)
	for _, n := range []string{"alpha", "beta", "gamma"} {
		ts.create(t, n, "https://"+n+".example")
	}
	for i := 0; i < 3; i++ {
		ts.do(t, "GET", "/gamma", "")
	}
	ts.do(t, "GET", "/beta", "")
	list := func(q string) []string {
		t.Helper()
		r := ts.do(t, "GET", "/api/v1/links?"+q, "")
		if r.status != 200 {
			t.Fatalf("list %s: %d %s", q, r.status, r.body)
		}
		var body struct{ Links []links.Record }
		json.Unmarshal([]byte(r.body), &body)
		var names []string
		for _, l := range body.Links {
			names = append(names, l.Name)
		}
		return names
	}
	if got := fmt.Sprint(list("")); got != "[alpha beta gamma]" {
		t.Errorf("list = %s", got)
	}
	if got := fmt.Sprint(list("q=amm")); got != "[gamma]" {
		t.Errorf("search = %s", got)
	}
	// Popularity counts clicks not yet flushed too? The store orders by
	// stored clicks; flush first, as the server would.
	f := &index.Flusher{Index: ts.index, Store: ts.store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(list("sort=popular&limit=2")); got != "[gamma beta]" {
		t.Errorf("popular = %s", got)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/links?sort=best", ""), 400, links.Invalid, "sort must be")
	wantError(t, ts.do(t, "GET", "/api/v1/links?limit=0", ""), 400, links.Invalid, "limit must be")
	wantError(t, ts.do(t, "GET", "/api/v1/links?limit=5000", ""), 400, links.Invalid, "limit must be")
}

func TestExportImportRoundTrip(t *testing.T) {
	src := newTestServer(t, false)
	src.create(t, "one", "https://one.example")
	src.create(t, "Two-Words", "https://two.example/{{.Path}}")
	src.do(t, "GET", "/one", "")
	r := src.do(t, "GET", "/api/v1/export", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %v", r.status, r.header)
	}
	lines := strings.Split(strings.TrimSpace(r.body), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"clicks":1`) {
		t.Fatalf("export body: %q", r.body)
	}
	// The export takes no query parameters: a filter it would ignore is refused.
	wantError(t, src.do(t, "GET", "/api/v1/export?q=one", ""), 400, links.Invalid, `unknown query parameter "q"; /api/v1/export takes none`)
	dst := newTestServer(t, false)
	imp := dst.do(t, "POST", "/api/v1/import", r.body, "Content-Type", "application/x-ndjson")
	if imp.status != 200 || !strings.Contains(imp.body, `"imported":2`) {
		t.Fatalf("import: %d %s", imp.status, imp.body)
	}
	// Over the API, what links say round-trips; their clicks and times do
	// not (only an operator's `signpost import` sets those).
	again := dst.do(t, "GET", "/api/v1/export", "")
	strip := func(body string) (out []links.Record, clicks int64) {
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			var rec links.Record
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("export line %q: %v", line, err)
			}
			clicks += rec.Clicks
			rec.Clicks, rec.LastClickedAt, rec.CreatedAt, rec.UpdatedAt = 0, nil, time.Time{}, time.Time{}
			out = append(out, rec)
		}
		return out, clicks
	}
	want, _ := strip(r.body)
	got, clicks := strip(again.body)
	if fmt.Sprint(got) != fmt.Sprint(want) || clicks != 0 {
		t.Fatalf("export after import differs (or carries clicks):\n%s\nvs\n%s", again.body, r.body)
	}
	if loc := dst.do(t, "GET", "/twowords/x", "").header.Get("Location"); loc != "https://two.example/x" {
		t.Fatalf("imported template redirect = %q", loc)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	ts := newTestServer(t, false)
	body := `{"name":"good","url":"https://g.example"}
{"name":"bad","url":"javascript:alert(1)"}
`
	wantError(t, ts.do(t, "POST", "/api/v1/import", body, "Content-Type", "application/x-ndjson"), 400, links.Invalid, "line 2")
	if ts.do(t, "GET", "/good", "").status != 404 {
		t.Fatal("a failed import stored its good lines")
	}
	// Every bad line is reported, each with its number and reason.
	r := ts.do(t, "POST", "/api/v1/import", body+"[]\n{\"name\":\"good\",\"url\":\"https://x.example\"}\n", "Content-Type", "application/x-ndjson")
	var rep struct {
		Lines []struct {
			Line   int
			Reason string
		}
		BadLines int `json:"bad_lines"`
	}
	json.Unmarshal([]byte(r.body), &rep)
	if r.status != 400 || rep.BadLines != 3 || len(rep.Lines) != 3 || rep.Lines[0].Line != 2 || rep.Lines[1].Line != 3 ||
		rep.Lines[2].Line != 4 || !strings.Contains(rep.Lines[2].Reason, "repeats line 1") {
		t.Fatalf("import report: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "POST", "/api/v1/import", body, "Content-Type", "application/json"),
		http.StatusUnsupportedMediaType, links.UnsupportedMediaType, "application/x-ndjson")
	golink := `{"Short":"gl","Long":"https://golink.example","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-02T00:00:00Z","Owner":"a@x"}`
	if r := ts.do(t, "POST", "/api/v1/import", golink, "Content-Type", "application/x-ndjson"); r.status != 200 {
		t.Fatalf("golink import: %d %s", r.status, r.body)
	}
	if ts.do(t, "GET", "/gl", "").status != 302 {
		t.Fatal("golink import not served")
	}
	// Over 64 MiB: 413, and nothing of it stored, though its first line
	// was good.
	big := `{"name":"first","url":"https://f.example"}` + "\n" + strings.Repeat(" ", 64<<20)
	wantError(t, ts.do(t, "POST", "/api/v1/import", big, "Content-Type", "application/x-ndjson"), 413, links.TooLarge, "64 MiB")
	if ts.do(t, "GET", "/first", "").status != 404 {
		t.Fatal("an import over the limit stored its first line")
	}
}

func TestProxyAuthOwnership(t *testing.T) {
	ts := newTestServer(t, true)
	alice, bob := []string{"X-Forwarded-Email", "alice@x"}, []string{"X-Forwarded-Email", "bob@x"}
	wantError(t, ts.do(t, "POST", "/api/v1/links", `{"name":"a","url":"https://a.example"}`), 401, links.Unauthorized, "sign in")
	// A new link is the creator's; it may not be made somebody else's.
	wantError(t, ts.do(t, "POST", "/api/v1/links", `{"name":"a","url":"https://a.example","owner":"mallory@x"}`, alice...), 403, links.Forbidden, "may not give go/a to mallory@x")
	r := ts.do(t, "POST", "/api/v1/links", `{"name":"a","url":"https://a.example"}`, alice...)
	if r.status != 201 || !strings.Contains(r.body, `"owner":"alice@x"`) {
		t.Fatalf("create as alice: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/a", `{"url":"https://evil.example"}`, bob...), 403, links.Forbidden, "is owned by alice@x")
	wantError(t, ts.do(t, "DELETE", "/api/v1/links/a", "", bob...), 403, links.Forbidden, "only alice@x or an admin")
	if r := ts.do(t, "PATCH", "/api/v1/links/a", `{"url":"https://a2.example"}`, alice...); r.status != 200 {
		t.Fatalf("owner edit: %d %s", r.status, r.body)
	}
	// Reads and redirects need no identity.
	if ts.do(t, "GET", "/a", "").status != 302 || ts.do(t, "GET", "/api/v1/links/a", "").status != 200 {
		t.Fatal("anonymous read refused")
	}
	// An unowned link may be claimed.
	if err := ts.store.Import(context.Background(), links.All([]links.Link{{Name: "free", Key: "free", URL: "https://f.example"}}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	r = ts.do(t, "PATCH", "/api/v1/links/free", `{"description":"mine now"}`, bob...)
	if r.status != 200 || !strings.Contains(r.body, `"owner":"bob@x"`) {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	// ... but not handed to somebody else by a passer-by.
	if err := ts.store.Import(context.Background(), links.All([]links.Link{{Name: "free2", Key: "free2", URL: "https://f.example"}}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/free2", `{"owner":"alice@x"}`, bob...), 403, links.Forbidden, "has no owner")
	if r := ts.do(t, "PATCH", "/api/v1/links/free2", `{"owner":"","description":"left unowned"}`, bob...); r.status != 200 || !strings.Contains(r.body, `"owner":""`) {
		t.Fatalf("edit leaving it unowned: %d %s", r.status, r.body)
	}
	// In the UI the owner field of an unowned link is prefilled with the
	// user, so that saving the form claims it.
	carol := []string{"X-Forwarded-Email", "carol@x"}
	if r := ts.do(t, "GET", "/-/links/free2", "", carol...); !strings.Contains(r.body, `name="owner" value="carol@x"`) {
		t.Fatalf("link page of an unowned link does not offer to claim it: %d", r.status)
	}
	form := url.Values{"name": {"free2"}, "url": {"https://f.example"}, "description": {""}, "owner": {"carol@x"}}.Encode()
	if r := ts.do(t, "POST", "/-/links/free2", form, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, carol...)...); r.status != 303 {
		t.Fatalf("claim through the form: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/api/v1/links/free2", ""); !strings.Contains(r.body, `"owner":"carol@x"`) {
		t.Fatalf("after the form: %s", r.body)
	}

	// Import over the API follows the same rules: the importer owns what
	// it imports, and a line naming someone else's link refuses it all.
	ndjson := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	imp := func(body string, who []string) response {
		return ts.do(t, "POST", "/api/v1/import", body, append([]string{"Content-Type", "application/x-ndjson"}, who...)...)
	}
	r = imp(ndjson(`{"name":"fresh","url":"https://fresh.example"}`, `{"name":"a","url":"https://evil.example","owner":"bob@x"}`), bob)
	wantError(t, r, 403, links.Forbidden, "belongs to alice@x")
	if r := ts.do(t, "GET", "/a", ""); r.header.Get("Location") != "https://a2.example" {
		t.Fatalf("a refused import changed alice's link: %q", r.header.Get("Location"))
	}
	if ts.do(t, "GET", "/fresh", "").status != 404 {
		t.Fatal("a refused import stored some of its lines")
	}
	if r := imp(ndjson(`{"name":"fresh","url":"https://fresh.example","owner":"mallory@x"}`), bob); r.status != 200 {
		t.Fatalf("import as bob: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/api/v1/links/fresh", ""); !strings.Contains(r.body, `"owner":"bob@x"`) {
		t.Fatalf("imported link's owner: %s", r.body)
	}
}

func TestProxyAuthIgnoresUntrustedPeer(t *testing.T) {
	// The same server, reached from an address outside TRUSTED_PROXIES.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ix := index.New(log)
	h, err := web.New(web.Options{Links: &links.Service{Store: st, Index: ix, Enforce: true}, Index: ix,
		Auth: &auth.Resolver{Mode: auth.ModeProxy, Header: "X-Forwarded-Email", Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/links", strings.NewReader(`{"name":"a","url":"https://a.example"}`))
	req.RemoteAddr = "203.0.113.9:4444"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Email", "admin@x")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 401 {
		t.Fatalf("spoofed identity accepted: %d %s", w.Code, w.Body)
	}
}

func TestCrossOriginFormPostRefused(t *testing.T) {
	ts := newTestServer(t, false)
	form := url.Values{"name": {"x"}, "url": {"https://x.example"}}.Encode()
	r := ts.do(t, "POST", "/-/links", form, "Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-site form post = %d", r.status)
	}
	if ts.do(t, "GET", "/x", "").status != 404 {
		t.Fatal("cross-site post created a link")
	}
	r = ts.do(t, "POST", "/-/links", form, "Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/-/links/x?created=1" {
		t.Fatalf("same-origin form post = %d %v", r.status, r.header)
	}
}

func TestUIPages(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	ts.create(t, "gh", "https://github.com/search?q={{QueryEscape .Path}}")
	form := func(path string, v url.Values) response {
		return ts.do(t, "POST", path, v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	}
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/-/", 200, []string{"go/docs", "https://docs.example", `action="/-/links"`, "Popular"}},
		{"/-/?q=doc", 200, []string{"Links matching", "go/docs"}},
		{"/-/?q=zzz", 200, []string{"Nothing matches"}},
		{"/-/links/docs", 200, []string{"go/docs", `action="/-/links/docs"`, "Delete go/docs", `href="https://docs.example"`}},
		{"/-/links/gh", 200, []string{"<code>https://github.com/search?q={{QueryEscape .Path}}</code>", "a template"}},
		{"/-/links/nope", 404, []string{"does not exist yet"}},
		{"/-/links", 200, []string{"All links", "2 links", "go/docs", "Sort by"}},
		{"/-/links/docs/history", 200, []string{"History of go/docs", "Version 1", "create"}},
		{"/-/deleted", 200, []string{"Deleted links", "No deleted links."}},
		{"/-/audit", 200, []string{"Audit log", "go/gh"}},
		{"/-/new?name=fresh", 200, []string{`value="fresh"`}},
		{"/-/help", 200, []string{"/etc/hosts", "/-/go?q=%s", "opensearch.xml"}},
		{"/-/opensearch.xml", 200, []string{"OpenSearchDescription", ts.URL + "/-/go?q={searchTerms}"}},
		{"/-/static/style.css", 200, []string{"--accent"}},
		// The rest of /-/ is the UI's 404, not a lookup of a link "-".
		{"/-/linkz", 404, []string{"There is no page /-/linkz"}},
		{"/-/nope/x", 404, []string{"There is no page /-/nope/x"}},
	}
	for _, tt := range tests {
		r := ts.do(t, "GET", tt.path, "")
		if r.status != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, r.status, tt.status)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("GET %s lacks %q", tt.path, w)
			}
		}
		if strings.Contains(r.body, "<no value>") {
			t.Errorf("GET %s renders <no value>", tt.path)
		}
	}
	if r := ts.do(t, "GET", "/-", ""); r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "/-/" {
		t.Errorf("GET /- = %d %q, want a redirect to /-/", r.status, r.header.Get("Location"))
	}
	// Create, fail validation, update, delete through forms.
	if r := form("/-/links", url.Values{"name": {"a b"}, "url": {"https://x.example"}}); r.status != 400 || !strings.Contains(r.body, "contains") || !strings.Contains(r.body, `value="a b"`) {
		t.Errorf("invalid form: %d", r.status)
	}
	if r := form("/-/links/docs", url.Values{"name": {"docs"}, "url": {"https://new.example"}, "description": {"d"}, "owner": {""}}); r.status != 303 {
		t.Errorf("update form: %d %s", r.status, r.body)
	}
	if loc := ts.do(t, "GET", "/docs", "").header.Get("Location"); loc != "https://new.example" {
		t.Errorf("after form update: %q", loc)
	}
	if r := form("/-/links/docs/delete", url.Values{}); r.status != 303 {
		t.Errorf("delete form: %d", r.status)
	}
	if ts.do(t, "GET", "/docs", "").status != 404 {
		t.Error("form delete did not delete")
	}
}

func TestGoSearchShortcut(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	for q, want := range map[string]string{
		"docs":       "/docs",
		"docs/a/b":   "/docs/a/b",
		"go/docs":    "/docs",
		"nothing":    "/-/?q=nothing",
		"two words":  "/-/?q=two+words",
		"docs extra": "/docs",
	} {
		r := ts.do(t, "GET", "/-/go?q="+url.QueryEscape(q), "")
		if r.status != 302 || r.header.Get("Location") != want {
			t.Errorf("go?q=%q = %d %q, want %q", q, r.status, r.header.Get("Location"), want)
		}
	}
}

// Every API error is JSON, the router's 404 and 405 included.
func TestAPIRoutingErrorsAreJSON(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	tests := []struct {
		method, path string
		status       int
		code         links.Code
		allow        string
	}{
		{"POST", "/api/v1/links/docs", 405, links.MethodNotAllowed, "GET, HEAD, PUT, PATCH, DELETE"},
		{"PUT", "/api/v1/links/docs/history", 405, links.MethodNotAllowed, "GET, HEAD"},
		{"GET", "/api/v1/links/docs/restore", 405, links.MethodNotAllowed, "POST"},
		{"POST", "/api/v1/audit", 405, links.MethodNotAllowed, "GET, HEAD"},
		{"DELETE", "/api/v1/links", 405, links.MethodNotAllowed, "GET, HEAD, POST"},
		{"POST", "/api/v1/export", 405, links.MethodNotAllowed, "GET, HEAD"},
		{"GET", "/api/v1/import", 405, links.MethodNotAllowed, "POST"},
		{"GET", "/api/v1/nothing", 404, links.NotFound, ""},
		{"POST", "/api/v1/nothing", 404, links.NotFound, ""},
		{"OPTIONS", "/api/v1/nothing", 404, links.NotFound, ""},
		{"GET", "/api/v1", 404, links.NotFound, ""},
	}
	for _, tt := range tests {
		r := ts.do(t, tt.method, tt.path, "")
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json (status %d, body %q)", tt.method, tt.path, ct, r.status, r.body)
			continue
		}
		wantError(t, r, tt.status, tt.code, "")
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
	// The methods the routes take still reach them.
	if r := ts.do(t, "HEAD", "/api/v1/links/docs", ""); r.status != 200 {
		t.Errorf("HEAD /api/v1/links/docs = %d", r.status)
	}
}

// A panic on the redirect fast path is recovered like any other: a 500,
// not a dropped connection.
func TestRedirectPanicRecovered(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ix := index.New(log)
	h, err := web.New(web.Options{Links: &links.Service{Store: st, Index: ix}, Index: ix, Auth: &auth.Resolver{}, Log: log,
		OnRedirect: func(bool) { panic("boom") }})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/anything", nil))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
}
