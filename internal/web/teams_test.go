package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/web"
)

// newProxyServer is the full handler in AUTH_MODE=proxy over a real
// SQLite file, with X-Forwarded-Groups, an admin, and the given
// REQUIRE_LOGIN.
func newProxyServer(t *testing.T, requireLogin bool) *testServer {
	t.Helper()
	st, ix := newStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := &links.Service{Store: st, Index: ix, Tokens: st, Enforce: true, RequireLogin: requireLogin}
	h, err := web.New(web.Options{
		Links: svc, Index: ix, Log: log,
		Auth: &auth.Resolver{Mode: auth.ModeProxy, Header: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
			Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")},
			Admins:  []string{"root@x"}, Tokens: svc},
		Health: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, h)
	return &testServer{Server: srv, store: st, index: ix}
}

func as(user string, groups ...string) []string {
	h := []string{"X-Forwarded-Email", user}
	if len(groups) > 0 {
		h = append(h, "X-Forwarded-Groups", strings.Join(groups, ","))
	}
	return h
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func formHdr(who []string) []string {
	return append([]string{"Content-Type", "application/x-www-form-urlencoded"}, who...)
}

func (ts *testServer) newToken(t *testing.T, who []string, body string) (id, secret string) {
	t.Helper()
	r := ts.do(t, "POST", "/api/v1/tokens", body, who...)
	if r.status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.status, r.body)
	}
	var rec struct{ ID, Token string }
	json.Unmarshal([]byte(r.body), &rec)
	if rec.ID == "" || !strings.HasPrefix(rec.Token, "sp_"+rec.ID+"_") {
		t.Fatalf("token answer %s", r.body)
	}
	return rec.ID, rec.Token
}

func TestAPITokens(t *testing.T) {
	ts := newProxyServer(t, false)
	ana := as("ana@x", "sre")
	wantError(t, ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["links:read"]}`), 401, links.Unauthorized, "sign in")
	wantError(t, ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["everything"]}`, ana...), 400, links.Invalid, "unknown scope")
	wantError(t, ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["admin"]}`, ana...), 403, links.Forbidden, "only admins")
	wantError(t, ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["links:read"],"expires_at":"2001-01-01T00:00:00Z"}`, ana...), 400, links.Invalid, "in the past")
	wantError(t, ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["links:read"],"colour":1}`, ana...), 400, links.Invalid, "colour")

	readID, read := ts.newToken(t, ana, `{"name":"reader","scopes":["links:read"],"expires_at":"2099-01-01T00:00:00Z"}`)
	_, write := ts.newToken(t, ana, `{"name":"writer","scopes":["links:write"]}`)

	// A write token creates links as its owner, with the owner's groups.
	r := ts.do(t, "POST", "/api/v1/links", `{"name":"oncall","url":"https://oncall.example","owner":"group:sre"}`, bearer(write)...)
	if r.status != 201 || !strings.Contains(r.body, `"owner":"group:sre"`) {
		t.Fatalf("create with a write token: %d %s", r.status, r.body)
	}
	// A read token reads, and may not write.
	if r := ts.do(t, "GET", "/api/v1/links/oncall", "", bearer(read)...); r.status != 200 {
		t.Fatalf("read with a read token: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "PUT", "/api/v1/links/oncall", `{"url":"https://x.example"}`, bearer(read)...), 403, links.Forbidden, "links:write")
	wantError(t, ts.do(t, "DELETE", "/api/v1/links/oncall", "", bearer(read)...), 403, links.Forbidden, "links:write")
	// Tokens do not make tokens (without the admin scope).
	wantError(t, ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["links:read"]}`, bearer(write)...), 403, links.Forbidden, "admin scope")

	// Listing: the secret is never shown again.
	r = ts.do(t, "GET", "/api/v1/tokens", "", ana...)
	if r.status != 200 || strings.Contains(r.body, read) || strings.Contains(r.body, `"token"`) || strings.Count(r.body, `"id"`) != 2 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if !strings.Contains(r.body, `"last_used_at":"`) || !strings.Contains(r.body, `"expires_at":"2099-01-01T00:00:00Z"`) {
		t.Fatalf("list lacks last use or expiry: %s", r.body)
	}
	if r := ts.do(t, "GET", "/api/v1/tokens", "", as("bo@x")...); !strings.Contains(r.body, `"tokens":[]`) {
		t.Fatalf("bo sees tokens: %s", r.body)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/tokens?all=true", "", ana...), 403, links.Forbidden, "only admins")
	if r := ts.do(t, "GET", "/api/v1/tokens?all=true", "", as("root@x")...); r.status != 200 || strings.Count(r.body, `"id"`) != 2 {
		t.Fatalf("admin's list of all: %d %s", r.status, r.body)
	}

	// Strict query: all is true or false, and nothing else is taken.
	for _, q := range []string{"all=1", "all=yes", "all=", "all=true&all=false", "mine=1"} {
		wantError(t, ts.do(t, "GET", "/api/v1/tokens?"+q, "", as("root@x")...), 400, links.Invalid, "")
	}
	if r := ts.do(t, "GET", "/api/v1/tokens?all=false", "", as("root@x")...); r.status != 200 || strings.Count(r.body, `"id"`) != 0 {
		t.Fatalf("all=false for an admin: %d %s", r.status, r.body)
	}

	// Revoking: not by others; by the owner; then the token is refused,
	// with a JSON 401, never served as anonymous (even where anonymous
	// would be allowed to read).
	wantError(t, ts.do(t, "DELETE", "/api/v1/tokens/"+readID, "", as("bo@x")...), 404, links.NotFound, "no token")
	if r := ts.do(t, "DELETE", "/api/v1/tokens/"+readID, "", ana...); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/links/oncall", "", bearer(read)...), 401, links.Unauthorized, "not valid")
	wantError(t, ts.do(t, "GET", "/api/v1/links", "", bearer("sp_nonsense")...), 401, links.Unauthorized, "not valid")
	wantError(t, ts.do(t, "GET", "/api/v1/links", "", "Authorization", "Basic YTpi"), 401, links.Unauthorized, "Bearer")
	// A redirect that brings a bad token is refused too.
	if r := ts.do(t, "GET", "/oncall", "", bearer(read)...); r.status != 401 {
		t.Fatalf("redirect with a revoked token: %d", r.status)
	}
	// An admin revokes anyone's.
	otherID, _ := ts.newToken(t, as("bo@x"), `{"name":"b","scopes":["links:read"]}`)
	if r := ts.do(t, "DELETE", "/api/v1/tokens/"+otherID, "", as("root@x")...); r.status != 204 {
		t.Fatalf("admin revoke: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "PATCH", "/api/v1/tokens/"+otherID, "", ana...), 405, links.MethodNotAllowed, "")
}

func TestRequireLogin(t *testing.T) {
	ts := newProxyServer(t, true)
	ana := as("ana@x")
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://docs.example"}`, ana...); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	_, read := ts.newToken(t, ana, `{"name":"r","scopes":["links:read"]}`)
	for _, tt := range []struct {
		path   string
		who    []string
		status int
	}{
		{"/docs", nil, 401},
		{"/docs", ana, 302},
		{"/docs", bearer(read), 302},
		{"/-/", nil, 401},
		{"/-/", ana, 200},
		{"/-/links/docs", nil, 401},
		{"/-/help", nil, 401},
		{"/api/v1/links", nil, 401},
		{"/api/v1/links", bearer(read), 200},
		{"/api/v1/export", nil, 401},
		{"/healthz", nil, 200},
		{"/-/static/style.css", nil, 200},
	} {
		r := ts.do(t, "GET", tt.path, "", tt.who...)
		if r.status != tt.status {
			t.Errorf("GET %s as %v = %d, want %d", tt.path, tt.who, r.status, tt.status)
		}
		if strings.HasPrefix(tt.path, "/api/") && r.status == 401 {
			wantError(t, r, 401, links.Unauthorized, "sign in")
		}
	}
}

// Every API 401 says how to authenticate (RFC 9110's WWW-Authenticate) and,
// for credentials that were sent, why they were refused (RFC 6750).
func TestAPI401Challenge(t *testing.T) {
	ts := newProxyServer(t, true)
	const realm = `Bearer realm="signpost"`
	for _, tt := range []struct {
		name string
		hdr  []string // header name, value, ...; added, so a name may repeat
		want string
	}{
		{"no identity under REQUIRE_LOGIN", nil, realm},
		{"a token that is not one", []string{"Authorization", "Bearer sp_nonsense"}, realm + `, error="invalid_token"`},
		{"another scheme", []string{"Authorization", "Basic YTpi"}, realm + `, error="invalid_request"`},
		{"Bearer without a token", []string{"Authorization", "Bearer "}, realm + `, error="invalid_request"`},
		{"two Authorization headers", []string{"Authorization", "Bearer a", "Authorization", "Bearer b"}, realm + `, error="invalid_request"`},
		{"the identity header twice", []string{"X-Forwarded-Email", "ana@x", "X-Forwarded-Email", "bo@x"}, realm},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", ts.URL+"/api/v1/links", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Add(tt.hdr[i], tt.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != 401 || len(got) != 1 || got[0] != tt.want {
				t.Errorf("%d, WWW-Authenticate %q; want 401 with %q", resp.StatusCode, got, tt.want)
			}
		})
	}
	// Not on a page (a browser would show its own sign-in dialog), nor on a 403.
	if r := ts.do(t, "GET", "/-/", ""); r.status != 401 || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("GET /-/ without identity: %d, WWW-Authenticate %q; want 401 without it", r.status, r.header.Get("WWW-Authenticate"))
	}
	r := ts.do(t, "POST", "/api/v1/tokens", `{"name":"x","scopes":["admin"]}`, as("ana@x")...)
	if r.status != 403 || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("a refused admin token: %d, WWW-Authenticate %q; want 403 without it", r.status, r.header.Get("WWW-Authenticate"))
	}
}

// The link page shows edit and delete only to those who may use them,
// and says why to the others.
func TestLinkPagePermissions(t *testing.T) {
	ts := newProxyServer(t, false)
	ana := as("ana@x", "sre")
	r := ts.do(t, "POST", "/api/v1/links", `{"name":"oncall","url":"https://oncall.example","owner":"group:sre"}`, ana...)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for _, tt := range []struct {
		name     string
		who      []string
		editable bool
		want     []string
	}{
		{"member", as("cy@x", "sre", "db"), true, []string{`id="edit-form"`, "Delete go/oncall", `<option value="group:sre">`, `<option value="group:db">`, `<option value="cy@x">`}},
		{"stranger", as("bo@x", "web"), false, []string{"go/oncall is owned by group:sre; only members of group:sre or an admin may change it"}},
		{"anonymous", nil, false, []string{"Sign in to change links."}},
		{"admin", as("root@x"), true, []string{`id="edit-form"`, "as an admin", ">admin</span>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "GET", "/-/links/oncall", "", tt.who...)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			if got := strings.Contains(r.body, `id="edit-form"`) || strings.Contains(r.body, `action="/-/links/oncall/delete"`); got != tt.editable {
				t.Fatalf("edit or delete form shown: %v, want %v", got, tt.editable)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	// A member saves through the form; a stranger's post is refused.
	form := url.Values{"name": {"oncall"}, "url": {"https://oncall.example/v2"}, "description": {"pager"}, "owner": {"group:sre"}}.Encode()
	if r := ts.do(t, "POST", "/-/links/oncall", form, formHdr(as("cy@x", "sre"))...); r.status != 303 {
		t.Fatalf("member's form: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "POST", "/-/links/oncall", form, formHdr(as("bo@x"))...); r.status != 403 || !strings.Contains(r.body, "owned by group:sre") {
		t.Fatalf("stranger's form: %d", r.status)
	}
	if r := ts.do(t, "POST", "/-/links/oncall/delete", "", formHdr(as("bo@x"))...); r.status != 403 {
		t.Fatalf("stranger's delete: %d", r.status)
	}
}

func TestMyLinks(t *testing.T) {
	ts := newProxyServer(t, false)
	for _, l := range []struct{ name, owner string }{{"mine", "ana@x"}, {"team", "group:sre"}, {"theirs", "bo@x"}} {
		r := ts.do(t, "POST", "/api/v1/links", fmt.Sprintf(`{"name":%q,"url":"https://x.example","owner":%q}`, l.name, l.owner), as("root@x")...)
		if r.status != 201 {
			t.Fatalf("create %s: %d %s", l.name, r.status, r.body)
		}
	}
	ana := as("ana@x", "sre")
	names := func(r response) string {
		t.Helper()
		var body struct{ Links []links.Record }
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var out []string
		for _, l := range body.Links {
			out = append(out, l.Name)
		}
		return strings.Join(out, " ")
	}
	if got := names(ts.do(t, "GET", "/api/v1/links?q=owner:me", "", ana...)); got != "mine team" {
		t.Errorf("owner:me = %q", got)
	}
	if got := names(ts.do(t, "GET", "/api/v1/links?q="+url.QueryEscape("owner:bo@x"), "", ana...)); got != "theirs" {
		t.Errorf("owner:bo@x = %q", got)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/links?q=owner:me", ""), 401, links.Unauthorized, "sign in")
	// The home page: a "My links" list, and the filter.
	r := ts.do(t, "GET", "/-/", "", ana...)
	if !strings.Contains(r.body, `id="mine-h"`) || !strings.Contains(r.body, `href="/-/?mine=1"`) {
		t.Errorf("home lacks my links")
	}
	r = ts.do(t, "GET", "/-/?mine=1", "", ana...)
	if !strings.Contains(r.body, "go/mine") || !strings.Contains(r.body, "go/team") || strings.Contains(r.body, "go/theirs") {
		t.Errorf("home ?mine=1 lists the wrong links: %s", r.body)
	}
}

func TestTokensUI(t *testing.T) {
	ts := newProxyServer(t, false)
	ana := as("ana@x")
	form := url.Values{"name": {"laptop"}, "scope": {"links:read", "links:write"}, "expires_days": {"30"}}.Encode()
	r := ts.do(t, "POST", "/-/tokens", form, formHdr(ana)...)
	if r.status != 201 || !strings.Contains(r.body, `id="new-token"`) {
		t.Fatalf("create from the UI: %d %s", r.status, r.body)
	}
	i := strings.Index(r.body, "sp_")
	secret := r.body[i : i+3+16+1+43]
	if r := ts.do(t, "GET", "/api/v1/links", "", bearer(secret)...); r.status != 200 {
		t.Fatalf("the token shown does not work: %d %s", r.status, r.body)
	}
	// Shown once: the list shows the name and id, never the secret.
	r = ts.do(t, "GET", "/-/tokens", "", ana...)
	if !strings.Contains(r.body, "laptop") || strings.Contains(r.body, secret) {
		t.Fatalf("tokens page: %s", r.body)
	}
	id := secret[3:19]
	if r := ts.do(t, "POST", "/-/tokens/"+id+"/delete", "", formHdr(ana)...); r.status != 303 {
		t.Fatalf("revoke from the UI: %d", r.status)
	}
	if r := ts.do(t, "GET", "/api/v1/links", "", bearer(secret)...); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
}
