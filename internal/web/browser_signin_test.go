package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignIn: a real Chromium signs in through the test OpenID
// provider's login page (tools/testoidc), creates a group's link, signs
// out and sees edit refused; a second member of the group edits it; a
// non-member is told why not; an admin edits it. It runs when both
// SIGNPOST_TEST_CHROMIUM and SIGNPOST_TEST_OIDC_ISSUER are set
// (scripts/test-browser.sh sets them).
func TestBrowserSignIn(t *testing.T) {
	bin := os.Getenv("SIGNPOST_TEST_CHROMIUM")
	if bin == "" {
		t.Skip("SIGNPOST_TEST_CHROMIUM is not set (scripts/test-browser.sh sets it)")
	}
	axeSrc := axeSource(t)
	issuer := oidcIssuer(t)
	st, ix := newStore(t)
	a := newOIDCReplica(t, st, ix, oidcOptions{issuer: issuer, keys: testKey})
	waitReady(t, a.oidc, 10*time.Second)
	target := newTargetServer(t)
	b := startBrowser(t, bin)

	// signInFrom clicks the sign-in link on the page at path, fills the
	// provider's form, and checks the browser came back to path.
	signInFrom := func(t *testing.T, path, link, email string) {
		t.Helper()
		b.do(t, "open "+path, chromedp.Navigate(a.URL+path))
		b.submit(t, "click "+link, chromedp.Click(chromedp.CSS(link)))
		if loc := b.location(t); !strings.HasPrefix(loc, issuer+"/login?") {
			t.Fatalf("sign-in led to %s, not the provider's login page", loc)
		}
		password, _, _ := strings.Cut(email, "@")
		b.do(t, "fill the provider's form",
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password))
		b.submit(t, "sign in at the provider", chromedp.Click(chromedp.CSS("#submit")))
		b.wantLocation(t, a.URL+path)
		if who := run(t, b, "read who is signed in", chromedp.Text(chromedp.CSS(".top .user"))); who != email {
			t.Fatalf("signed in as %q, want %s", who, email)
		}
	}
	signOut := func(t *testing.T) {
		t.Helper()
		b.submit(t, "sign out", chromedp.Click(chromedp.CSS(`form[action="/-/logout"] button`)))
		b.wantLocation(t, a.URL+"/-/?signedout=1")
		b.do(t, "see the sign-in link", chromedp.WaitVisible(chromedp.CSS("#sign-in")))
	}
	editURL := func(t *testing.T, to string) {
		t.Helper()
		b.do(t, "change the target",
			chromedp.Clear(chromedp.CSS("#f-url")),
			chromedp.SendKeys(chromedp.CSS("#f-url"), to))
		b.submit(t, "save", chromedp.Click(chromedp.CSS(`#edit-form button[type=submit]`)))
		b.wantLocation(t, a.URL+"/-/links/oncall?saved=1")
		if l, err := st.Get(context.Background(), "oncall"); err != nil || l.URL != to {
			t.Fatalf("after saving: %+v, %v; want the target %s", l, err, to)
		}
	}

	t.Run("CreateSignOutRefused", func(t *testing.T) {
		signInFrom(t, "/-/", "#sign-in", "ana@example.com")
		b.do(t, "open new", chromedp.Navigate(a.URL+"/-/new"))
		b.do(t, "fill the form",
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=name]`), "oncall"),
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=url]`), target.URL+"/pager"),
			chromedp.SendKeys(chromedp.CSS(`#f-owner`), "group:sre"))
		b.submit(t, "create", chromedp.Click(chromedp.CSS(`#create-form button[type=submit]`)))
		b.wantLocation(t, a.URL+"/-/links/oncall?created=1")
		if owner := run(t, b, "read the owner", chromedp.Text(chromedp.CSS(".facts dd"))); owner != "group:sre" {
			t.Errorf("owner shown = %q", owner)
		}
		signOut(t)
		b.do(t, "open the link page", chromedp.Navigate(a.URL+"/-/links/oncall"))
		if why := run(t, b, "read why not", chromedp.Text(chromedp.CSS("#cannot-edit"))); !strings.Contains(why, "Sign in to change links.") {
			t.Errorf("reason shown = %q", why)
		}
		if n := run(t, b, "count edit forms", chromedp.Evaluate[int](`document.querySelectorAll("#edit-form, form.danger").length`)); n != 0 {
			t.Errorf("a signed-out browser sees %d edit or delete forms", n)
		}
		audit(t, b, a.URL, axeSrc, []auditPage{
			{name: "signed-out-home", path: "/-/?signedout=1", check: "#sign-in"},
			{name: "signed-out-link", path: "/-/links/oncall", check: "#sign-in-to-edit"},
		})
		b.noConsoleErrors(t)
	})

	t.Run("GroupMemberEdits", func(t *testing.T) {
		// "Sign in to edit" goes through the provider and back to the link.
		signInFrom(t, "/-/links/oncall", "#sign-in-to-edit", "bo@example.com")
		editURL(t, target.URL+"/pager/bo")
		signOut(t)
	})

	t.Run("NonMemberToldWhy", func(t *testing.T) {
		signInFrom(t, "/-/links/oncall", "#sign-in-to-edit", "cy@example.com")
		if why := run(t, b, "read why not", chromedp.Text(chromedp.CSS("#cannot-edit"))); why != "go/oncall is owned by group:sre; only members of group:sre or an admin may change it." {
			t.Errorf("reason shown = %q", why)
		}
		signOut(t)
	})

	t.Run("AdminEdits", func(t *testing.T) {
		// Admins here are the "platform" group (newOIDCReplica's ADMIN_GROUPS).
		signInFrom(t, "/-/links/oncall", "#sign-in-to-edit", "root@example.com")
		b.do(t, "see the admin note", chromedp.WaitVisible(chromedp.CSS("#as-admin")))
		editURL(t, target.URL+"/pager/root")
		// The redirect follows the admin's change.
		b.do(t, "follow go/oncall", chromedp.Navigate(a.URL+"/oncall"))
		b.do(t, "wait for the target", chromedp.WaitVisible(chromedp.ID("landed")))
		if u, _ := url.Parse(b.location(t)); u.Path != "/pager/root" {
			t.Errorf("go/oncall landed on %s", u)
		}
		// Signed in, the header holds more (my links, tokens, admin,
		// sign out): the pages still pass axe and fit a phone.
		tokens := 0
		audit(t, b, a.URL, axeSrc, []auditPage{
			{name: "signed-in-home", path: "/-/", check: ".top .user"},
			{name: "signed-in-mine", path: "/-/?mine=1", check: ".top .user"},
			{name: "signed-in-new", path: "/-/new", check: "#owners"},
			{name: "admin-link", path: "/-/links/oncall", check: "#as-admin"},
			{name: "tokens", path: "/-/tokens", check: "#token-form"},
			{name: "token-created", check: "#new-token", open: func(t *testing.T, b *testBrowser) {
				tokens++
				b.do(t, "open tokens", chromedp.Navigate(a.URL+"/-/tokens"))
				b.do(t, "name a token", chromedp.SendKeys(chromedp.CSS("#f-name"), fmt.Sprintf("laptop %d", tokens)))
				b.submit(t, "create a token", chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
			}},
			{name: "tokens-all", path: "/-/tokens?all=1", check: "ul.tokens"},
			{name: "token-error", check: "#scopes-error", open: func(t *testing.T, b *testBrowser) {
				b.expect4xx(a.URL + "/-/tokens")
				b.do(t, "open tokens", chromedp.Navigate(a.URL+"/-/tokens"))
				b.do(t, "name a token, no scope",
					chromedp.SendKeys(chromedp.CSS("#f-name"), "none"),
					chromedp.Click(chromedp.CSS(`input[value="links:read"]`)))
				b.submit(t, "create a token", chromedp.Click(chromedp.CSS("#token-form button[type=submit]")))
			}},
		})
		b.do(t, "come back", chromedp.Navigate(a.URL+"/-/"))
		signOut(t)
		b.noConsoleErrors(t)
	})
}
