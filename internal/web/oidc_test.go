package web_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
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

// The tests here sign in through a real OpenID provider: tools/testoidc
// (zitadel/oidc's pkg/op), which scripts/test-oidc.sh builds and starts,
// setting SIGNPOST_TEST_OIDC_ISSUER (a running provider) and
// SIGNPOST_TEST_OIDC_BIN (the binary, for tests that start their own).

const (
	testKey      = "test-session-key-0123456789abcdefghij"
	otherKey     = "another-session-key-0123456789abcdefgh"
	clientSecret = "signpost-secret" // tools/testoidc's
)

func oidcIssuer(t *testing.T) string {
	t.Helper()
	iss := os.Getenv("SIGNPOST_TEST_OIDC_ISSUER")
	if iss == "" {
		t.Skip("SIGNPOST_TEST_OIDC_ISSUER is not set: these tests need the test OpenID provider (scripts/test-oidc.sh builds, starts and sets it)")
	}
	return iss
}

type oidcReplica struct {
	*httptest.Server
	oidc *auth.OIDC
}

type oidcOptions struct {
	issuer, clientID, keys string
	allowedDomains         []string
	backoff                time.Duration
	requireLogin           bool
	log                    io.Writer // the replica's log (default: discarded)
}

// newOIDCReplica is a Signpost (the full handler, AUTH_MODE=oidc) on st,
// with the admins of group "platform"; replicas made from one store share
// links, and share sessions when they share a key.
func newOIDCReplica(t *testing.T, st *sqlite.Store, ix *index.Index, o oidcOptions) *oidcReplica {
	t.Helper()
	if o.log == nil {
		o.log = io.Discard
	}
	log := slog.New(slog.NewTextHandler(o.log, nil))
	sess, err := auth.NewSessions(o.keys)
	if err != nil {
		t.Fatal(err)
	}
	if o.clientID == "" {
		o.clientID = "signpost"
	}
	svc := &links.Service{Store: st, Index: ix, Tokens: st, Enforce: true, RequireLogin: o.requireLogin}
	oc := auth.NewOIDC(auth.OIDCConfig{Issuer: o.issuer, ClientID: o.clientID, ClientSecret: clientSecret,
		Scopes: []string{"openid", "email", "profile"}, AllowedDomains: o.allowedDomains}, log)
	if o.backoff > 0 {
		oc.Backoff = o.backoff
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); oc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h, err := web.New(web.Options{Links: svc, Index: ix, Log: log, OIDC: oc,
		Auth: &auth.Resolver{Mode: auth.ModeOIDC, Sessions: sess, Tokens: svc, AdminGroups: []string{"platform"},
			Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, h)
	return &oidcReplica{Server: srv, oidc: oc}
}

func newStore(t *testing.T) (*sqlite.Store, *index.Index) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "oidc.db"), sqlite.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	return st, ix
}

func waitReady(t *testing.T, o *auth.OIDC, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for o.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("OpenID discovery did not succeed within %v: %v", within, o.Ready())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browserClient is a cookie-keeping client that follows redirects on
// loopback only: a test that fails must not send anything elsewhere.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if h := req.URL.Hostname(); h != "127.0.0.1" && h != "localhost" {
			return fmt.Errorf("redirected off loopback to %s", req.URL)
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
}

type landing struct {
	status int
	url    *url.URL
	body   string
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) landing {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return landing{resp.StatusCode, resp.Request.URL, string(b)}
}

// signIn goes through Signpost's sign-in and the provider's login page as
// a browser would, and returns the page it ends on.
func signIn(t *testing.T, c *http.Client, base, email, ret string) landing {
	t.Helper()
	p := fetch(t, c, "GET", base+"/-/login?return="+url.QueryEscape(ret), nil)
	if p.status != 200 || !strings.Contains(p.body, `id="login"`) {
		t.Fatalf("sign-in did not reach the provider's login page: %d %s\n%s", p.status, p.url, p.body)
	}
	id := p.url.Query().Get("id")
	password, _, _ := strings.Cut(email, "@")
	login := *p.url
	login.RawQuery = ""
	return fetch(t, c, "POST", login.String(), url.Values{"id": {id}, "email": {email}, "password": {password}})
}

func TestOIDCSignIn(t *testing.T) {
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	opt := oidcOptions{issuer: issuer, keys: testKey, allowedDomains: []string{"example.com"}}
	a := newOIDCReplica(t, st, ix, opt)
	b := newOIDCReplica(t, st, ix, opt)
	rotated := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, keys: otherKey})
	for _, r := range []*oidcReplica{a, b, rotated} {
		waitReady(t, r.oidc, 10*time.Second)
	}

	// ana signs in on replica a and comes back where she started.
	ana := browserClient(t)
	p := signIn(t, ana, a.URL, "ana@example.com", "/-/new?name=oncall")
	if p.status != 200 || p.url.String() != a.URL+"/-/new?name=oncall" || !strings.Contains(p.body, "ana@example.com") {
		t.Fatalf("after sign-in: %d %s", p.status, p.url)
	}
	if !strings.Contains(p.body, `<option value="group:sre">`) {
		t.Errorf("the new-link form does not offer ana's group")
	}
	// The session cookie: HttpOnly, SameSite=Lax, bounded, not Secure over plain http.
	au, _ := url.Parse(a.URL)
	var session *http.Cookie
	for _, c := range ana.Jar.Cookies(au) {
		if c.Name == auth.SessionCookie {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}

	// She creates go/oncall for her group through the form.
	p = fetch(t, ana, "POST", a.URL+"/-/links", url.Values{"name": {"oncall"}, "url": {"https://oncall.example"}, "owner": {"group:sre"}})
	if p.status != 200 || !strings.HasSuffix(p.url.Path, "/-/links/oncall") {
		t.Fatalf("create: %d %s %s", p.status, p.url, p.body)
	}
	if l, err := st.Get(context.Background(), "oncall"); err != nil || l.Owner != "group:sre" {
		t.Fatalf("stored: %+v, %v", l, err)
	}

	// Replica b accepts a's session (same key, no shared store); a replica
	// whose keys no longer include the one it was sealed with does not.
	if p := fetch(t, ana, "GET", b.URL+"/-/", nil); !strings.Contains(p.body, `title="Signed in as ana@example.com"`) {
		t.Fatalf("replica b does not see ana signed in")
	}
	if p := fetch(t, ana, "GET", rotated.URL+"/-/", nil); strings.Contains(p.body, "ana@example.com") || !strings.Contains(p.body, `id="sign-in"`) {
		t.Fatalf("a replica with another key accepted the session")
	}

	// bo is in sre too: he may edit it. cy is not: the page says why.
	bo := browserClient(t)
	signIn(t, bo, a.URL, "bo@example.com", "/-/links/oncall")
	p = fetch(t, bo, "POST", b.URL+"/-/links/oncall", url.Values{"name": {"oncall"}, "url": {"https://oncall.example/bo"}, "description": {""}, "owner": {"group:sre"}})
	if p.status != 200 || !strings.Contains(p.body, "Saved.") {
		t.Fatalf("bo's edit: %d %s", p.status, p.body)
	}
	cy := browserClient(t)
	p = signIn(t, cy, a.URL, "cy@example.com", "/-/links/oncall")
	if !strings.Contains(p.body, "go/oncall is owned by group:sre") || strings.Contains(p.body, `id="edit-form"`) {
		t.Fatalf("cy's view of the link page: %s", p.body)
	}
	p = fetch(t, cy, "POST", a.URL+"/-/links/oncall", url.Values{"name": {"oncall"}, "url": {"https://evil.example"}})
	if p.status != 403 {
		t.Fatalf("cy's edit: %d", p.status)
	}
	// root is an admin by group (ADMIN_GROUPS=platform).
	root := browserClient(t)
	p = signIn(t, root, a.URL, "root@example.com", "/-/links/oncall")
	if !strings.Contains(p.body, `id="as-admin"`) || !strings.Contains(p.body, ">admin</span>") {
		t.Fatalf("root's view of the link page lacks the admin's edit")
	}
	p = fetch(t, root, "POST", a.URL+"/-/links/oncall", url.Values{"name": {"oncall"}, "url": {"https://oncall.example/root"}, "owner": {"group:sre"}})
	if p.status != 200 || !strings.Contains(p.body, "Saved.") {
		t.Fatalf("root's edit: %d", p.status)
	}

	// Sign-out clears the session; an edit then goes through sign-in and back.
	p = fetch(t, ana, "POST", a.URL+"/-/logout", url.Values{})
	if !strings.Contains(p.body, "Signed out.") || strings.Contains(p.body, "ana@example.com") {
		t.Fatalf("after sign-out: %s", p.body)
	}
	noFollow := &http.Client{Jar: ana.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(a.URL+"/-/links/oncall", url.Values{"name": {"oncall"}, "url": {"https://x.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/-/login?return="+url.QueryEscape("/-/links/oncall") {
		t.Fatalf("a signed-out edit: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if l, _ := st.Get(context.Background(), "oncall"); l.URL != "https://oncall.example/root" {
		t.Fatalf("a signed-out edit changed the link: %s", l.URL)
	}
}

// The return URL cannot send a browser that signed in to another site.
func TestOIDCOpenRedirectRefused(t *testing.T) {
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, keys: testKey})
	waitReady(t, a.oidc, 10*time.Second)
	for _, ret := range []string{"https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "https:evil.example"} {
		c := browserClient(t)
		p := signIn(t, c, a.URL, "ana@example.com", ret)
		if p.url.String() != a.URL+"/-/" {
			t.Errorf("return=%q ended on %s, want %s/-/", ret, p.url, a.URL)
		}
	}
}

func TestOIDCRefusals(t *testing.T) {
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, keys: testKey, allowedDomains: []string{"example.com"}})
	waitReady(t, a.oidc, 10*time.Second)
	for _, tt := range []struct{ email, want string }{
		{"eve@other.example", "only addresses at example.com may"},
		{"ned@example.com", "is not verified"},
	} {
		c := browserClient(t)
		p := signIn(t, c, a.URL, tt.email, "/-/")
		if p.status != 403 || !strings.Contains(p.body, tt.want) {
			t.Errorf("%s: %d, want 403 saying %q", tt.email, p.status, tt.want)
		}
		if p := fetch(t, c, "GET", a.URL+"/-/", nil); strings.Contains(p.body, tt.email) {
			t.Errorf("%s is signed in anyway", tt.email)
		}
	}
	// A callback that does not match the sign-in this browser started.
	c := browserClient(t)
	if p := fetch(t, c, "GET", a.URL+"/-/auth/callback?state=x&code=y", nil); p.status != 400 || !strings.Contains(p.body, "took longer than 10 minutes: sign in again.") {
		t.Errorf("callback without a sign-in in progress: %d", p.status)
	}
	p := fetch(t, c, "GET", a.URL+"/-/login", nil) // now one is in progress
	if p.status != 200 {
		t.Fatal(p.status)
	}
	if p := fetch(t, c, "GET", a.URL+"/-/auth/callback?state=forged&code=y", nil); p.status != 400 || !strings.Contains(p.body, "state differs") {
		t.Errorf("callback with a forged state: %d %s", p.status, p.body)
	}
}

// Some providers send groups only from UserInfo: they are read from there.
func TestOIDCGroupsFromUserInfo(t *testing.T) {
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, clientID: "signpost-userinfo", keys: testKey})
	waitReady(t, a.oidc, 10*time.Second)
	c := browserClient(t)
	p := signIn(t, c, a.URL, "bo@example.com", "/-/new")
	if !strings.Contains(p.body, "bo@example.com") || !strings.Contains(p.body, `<option value="group:web">`) {
		t.Fatalf("after a UserInfo sign-in: %d %s", p.status, p.body)
	}
}

// An issuer that is down at start stops nothing but sign-in, which
// answers 503 until discovery, retried with backoff, succeeds.
func TestOIDCDiscoveryRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	st, ix := newStore(t)
	if err := st.Import(context.Background(), links.All([]links.Link{{Name: "docs", Key: "docs", URL: "https://docs.example"}}), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Load(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	var logs syncWriter // browser_test.go
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: "http://" + addr, keys: testKey, backoff: 50 * time.Millisecond, log: &logs})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := noFollow.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location") + string(b)
	}
	time.Sleep(200 * time.Millisecond) // a few failed attempts
	// The page says so in a sentence; the cause (a dial error) is for the
	// operator, in a warning per failed attempt.
	if code, body := get("/-/login"); code != 503 || !strings.Contains(body, "Sign-in is unavailable") || !strings.Contains(body, "keeps trying") ||
		strings.Contains(body, addr) || strings.Contains(body, "dial") || strings.Contains(body, "refused") {
		t.Fatalf("sign-in while the issuer is down: %d %s", code, body)
	}
	if l := logs.String(); strings.Count(l, "OpenID provider discovery failed") < 2 || !strings.Contains(l, "connection refused") || !strings.Contains(l, addr) {
		t.Fatalf("want a warning with the cause per failed discovery attempt, got:\n%s", l)
	}
	if code, loc := get("/docs"); code != 302 || loc != "https://docs.example" {
		t.Fatalf("redirect while the issuer is down: %d %s", code, loc)
	}
	if code, _ := get("/-/"); code != 200 {
		t.Fatalf("home while the issuer is down: %d", code)
	}

	bin := os.Getenv("SIGNPOST_TEST_OIDC_BIN")
	if bin == "" {
		t.Skip("SIGNPOST_TEST_OIDC_BIN is not set: cannot start the provider late to see discovery recover")
	}
	startProvider(t, bin, addr)
	waitReady(t, a.oidc, 10*time.Second)
	if code, loc := get("/-/login"); code != 302 || !strings.HasPrefix(loc, "http://"+addr+"/authorize?") {
		t.Fatalf("sign-in after the issuer came up: %d %s", code, loc)
	}
}

// startProvider runs tools/testoidc on addr until the test ends.
func startProvider(t *testing.T, bin, addr string) {
	t.Helper()
	cmd := exec.Command(bin, "--addr", addr)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "SIGNPOST_TEST_OIDC_ISSUER=") {
			t.Fatalf("testoidc said %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("testoidc did not start within 10s")
	}
}

// REQUIRE_LOGIN: a browser that is not signed in is sent through sign-in,
// even for a go link, and lands where it was going.
func TestOIDCRequireLogin(t *testing.T) {
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	target := newTargetServer(t)
	if err := st.Import(context.Background(), links.All([]links.Link{{Name: "docs", Key: "docs", URL: target.URL + "/handbook"}}), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Load(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, keys: testKey, requireLogin: true})
	waitReady(t, a.oidc, 10*time.Second)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(a.URL + "/docs/intro?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/-/login?return="+url.QueryEscape("/docs/intro?x=1") {
		t.Fatalf("anonymous go link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := browserClient(t)
	p := signIn(t, c, a.URL, "cy@example.com", "/docs/intro?x=1")
	if p.status != 200 || p.url.String() != target.URL+"/handbook/intro?x=1" {
		t.Fatalf("after sign-in: %d %s", p.status, p.url)
	}
	// The API answers 401 in JSON rather than a redirect.
	resp, err = noFollow.Get(a.URL + "/api/v1/links")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("anonymous API: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// A link whose target depends on who asks (.User) sends a browser that is
// not signed in through sign-in and on to its target for that user.
func TestOIDCUserLinkSignsIn(t *testing.T) {
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	target := newTargetServer(t)
	if err := st.Import(context.Background(), links.All([]links.Link{{Name: "me", Key: "me", URL: target.URL + "/people/{{.User}}"}}), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Load(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, keys: testKey})
	waitReady(t, a.oidc, 10*time.Second)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(a.URL + "/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/-/login?return="+url.QueryEscape("/me") {
		t.Fatalf("anonymous .User link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := browserClient(t)
	p := signIn(t, c, a.URL, "cy@example.com", "/me")
	if p.status != 200 || p.url.String() != target.URL+"/people/cy@example.com" {
		t.Fatalf("after sign-in: %d %s", p.status, p.url)
	}
}
