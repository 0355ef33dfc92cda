package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/signpost-go/signpost/internal/links"
)

// The real-browser test: headless Chromium drives the UI over the full
// handler on a real SQLite file. It runs when SIGNPOST_TEST_CHROMIUM names a
// Chromium binary (scripts/test-browser.sh installs Debian's and sets it).
// SIGNPOST_TEST_SCREENSHOTS, when set to a directory, receives PNGs of the
// pages at desktop and phone sizes for a person to look at.

const (
	stepTimeout    = 20 * time.Second // any one browser step
	browserTimeout = 4 * time.Minute  // the whole test, browser start included
)

func TestBrowser(t *testing.T) {
	bin := os.Getenv("SIGNPOST_TEST_CHROMIUM")
	if bin == "" {
		t.Skip("SIGNPOST_TEST_CHROMIUM is not set: the real-browser test needs Chromium " +
			"(scripts/test-browser.sh installs Debian's chromium and sets SIGNPOST_TEST_CHROMIUM=/usr/bin/chromium)")
	}
	axeSrc := axeSource(t)
	ts := newTestServer(t, false)
	target := newTargetServer(t)
	b := startBrowser(t, bin)

	// The console check below must be able to fail: a page with an inline
	// script under `default-src 'self'` has to show up as a CSP error.
	t.Run("ConsoleCheckSeesCSPViolations", func(t *testing.T) {
		b.do(t, "open the CSP probe", chromedp.Navigate(target.URL+"/csp-probe"))
		if !b.waitConsole(5*time.Second, "Content Security Policy") {
			t.Fatalf("an inline script under a strict CSP produced no console error; the console check is blind (saw %v)", b.takeConsole())
		}
		if title := run(t, b, "read the title", chromedp.Title()); title == "inline script ran" {
			t.Fatal("the inline script ran despite the CSP")
		}
		b.takeConsole() // expected errors: not the app's
	})

	t.Run("CreateFollowNotFound", func(t *testing.T) {
		// Home, empty: the create form is there.
		b.do(t, "open home", chromedp.Navigate(ts.URL+"/-/"))
		b.screenshots(t, "home-empty")
		if h := run(t, b, "read the heading", chromedp.Text(chromedp.CSS("main h1"))); h != "Create a go/link" {
			t.Errorf("home heading = %q", h)
		}

		// Create go/Team-Docs through the home page's form, typing as a person would.
		wantTarget := target.URL + "/handbook"
		b.do(t, "fill the create form",
			chromedp.SendKeys(chromedp.CSS(`form.quick input[name=name]`), "Team-Docs"),
			chromedp.SendKeys(chromedp.CSS(`form.quick input[name=url]`), wantTarget),
		)
		resp := b.submit(t, "submit the create form", chromedp.Click(chromedp.CSS(`form.quick button[type=submit]`)))
		if resp.Status != http.StatusOK {
			t.Fatalf("after creating: status %d", resp.Status)
		}
		b.wantLocation(t, ts.URL+"/-/links/Team-Docs?created=1")
		if msg := run(t, b, "read the flash", chromedp.Text(chromedp.CSS(".flash.ok"))); !strings.Contains(msg, "Created go/Team-Docs") {
			t.Errorf("flash = %q", msg)
		}
		if h := run(t, b, "read the link heading", chromedp.Text(chromedp.CSS("main h1"))); h != "go/Team-Docs" {
			t.Errorf("link page heading = %q", h)
		}
		if u := run(t, b, "read the target", chromedp.Text(chromedp.CSS(".target a"))); u != wantTarget {
			t.Errorf("link page target = %q, want %q", u, wantTarget)
		}
		// app.js ran (the CSP let it load): it reveals the copy button.
		b.do(t, "wait for the copy button", chromedp.WaitVisible(chromedp.CSS("button[data-copy]")))
		b.copyButtonCopies(t, ts.URL+"/Team-Docs")
		b.screenshots(t, "link")

		// Follow go/teamdocs/a/b?x=1&lang=en: any case, no dashes; path and query passed on.
		b.do(t, "follow the link", chromedp.Navigate(ts.URL+"/teamdocs/a/b?x=1&lang=en"))
		b.do(t, "wait for the target page", chromedp.WaitVisible(chromedp.ID("landed")))
		landed := b.location(t)
		u, err := url.Parse(landed)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Scheme + "://" + u.Host; got != target.URL {
			t.Fatalf("browser landed on %s, want the target server %s", landed, target.URL)
		}
		if u.Path != "/handbook/a/b" || u.Query().Get("lang") != "en" || u.Query().Get("x") != "1" || len(u.Query()) != 2 {
			t.Errorf("browser landed on %s, want /handbook/a/b with lang=en and x=1", landed)
		}
		if r := target.last(); r.Path != "/handbook/a/b" || r.Query().Get("x") != "1" {
			t.Errorf("target server saw %s", r.String())
		}

		// Home now lists it.
		b.do(t, "open home", chromedp.Navigate(ts.URL+"/-/"))
		if got := run(t, b, "read popular", chromedp.Text(chromedp.CSS(`#popular-h + ul.links .go`))); got != "go/Team-Docs" {
			t.Errorf("popular lists %q", got)
		}
		b.screenshots(t, "home")

		// An unknown name: the 404 page offers the form with the name filled in.
		b.expect4xx(ts.URL + "/newthing/deep?q=1")
		resp = run(t, b, "open an unknown name", chromedp.NavigateResponse(ts.URL+"/newthing/deep?q=1"))
		if resp.Status != http.StatusNotFound {
			t.Errorf("unknown name: status %d, want 404", resp.Status)
		}
		if h := run(t, b, "read the heading", chromedp.Text(chromedp.CSS("main h1"))); h != "go/newthing does not exist yet" {
			t.Errorf("not-found heading = %q", h)
		}
		if v := run(t, b, "read the prefilled name", chromedp.Value(chromedp.CSS(`#create-form input[name=name]`))); v != "newthing" {
			t.Errorf("prefilled name = %q, want newthing", v)
		}
		b.screenshots(t, "notfound")
		b.do(t, "fill the target", chromedp.SendKeys(chromedp.CSS(`#create-form input[name=url]`), target.URL+"/fresh"))
		b.submit(t, "create from the not-found page", chromedp.Click(chromedp.CSS(`#create-form button[type=submit]`)))
		b.wantLocation(t, ts.URL+"/-/links/newthing?created=1")
		b.do(t, "follow the new link", chromedp.Navigate(ts.URL+"/newthing"))
		b.do(t, "wait for the target page", chromedp.WaitVisible(chromedp.ID("landed")))
		if got := b.location(t); got != target.URL+"/fresh" {
			t.Errorf("go/newthing landed on %s, want %s/fresh", got, target.URL)
		}

		// Delete it from its page: app.js asks first, the test accepts.
		b.do(t, "open the link page", chromedp.Navigate(ts.URL+"/-/links/newthing"))
		b.submit(t, "delete", chromedp.Click(chromedp.CSS(`form.danger button`)))
		if d := b.takeDialogs(); len(d) != 1 || !strings.HasPrefix(d[0], "Delete go/newthing?") {
			t.Errorf("confirm dialogs = %q, want one asking to delete go/newthing", d)
		}
		b.wantLocation(t, ts.URL+"/-/?deleted=newthing")
		if msg := run(t, b, "read the flash", chromedp.Text(chromedp.CSS(".flash.ok"))); msg != "Deleted go/newthing." {
			t.Errorf("flash after delete = %q", msg)
		}

		// The server refuses a javascript: target; the form says why and keeps
		// what was typed.
		b.do(t, "open new", chromedp.Navigate(ts.URL+"/-/new"))
		b.do(t, "fill the form",
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=name]`), "bad"),
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=url]`), "javascript:alert(1)"),
		)
		b.expect4xx(ts.URL + "/-/links")
		resp = b.submit(t, "submit a javascript: URL", chromedp.Click(chromedp.CSS(`#create-form button[type=submit]`)))
		if resp.Status != http.StatusBadRequest {
			t.Errorf("javascript: target: status %d, want 400", resp.Status)
		}
		// The message is at the field, which is marked invalid and has the focus.
		if msg := run(t, b, "read the error", chromedp.Text(chromedp.CSS("#url-error"))); !strings.Contains(msg, "not allowed") {
			t.Errorf("error shown = %q", msg)
		}
		if focused := run(t, b, "read the focus", chromedp.Evaluate[string](`document.activeElement.id + " " + document.activeElement.getAttribute("aria-invalid")`)); focused != "f-url true" {
			t.Errorf("focus after the error: %q, want the invalid #f-url", focused)
		}
		if v := run(t, b, "read the kept name", chromedp.Value(chromedp.CSS(`#create-form input[name=name]`))); v != "bad" {
			t.Errorf("name after the error = %q, want it kept", v)
		}
		b.screenshots(t, "new-error")

		b.do(t, "open help", chromedp.Navigate(ts.URL+"/-/help"))
		b.screenshots(t, "help")
		b.noConsoleErrors(t)
	})

	// Every page passes axe in light and dark mode and fits a phone, with
	// values at the limits (browser_audit_test.go); a probe first shows
	// that axe reports what it should.
	t.Run("AxeSeesViolations", func(t *testing.T) { testAxeSeesViolations(t, b, target, axeSrc) })
	t.Run("AuditEveryPage", func(t *testing.T) { testAuditEveryPage(t, b, axeSrc) })

	// Without JavaScript the forms still work: create, then delete (no confirm).
	t.Run("NoJavaScript", func(t *testing.T) {
		if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		defer chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		b.do(t, "open new", chromedp.Navigate(ts.URL+"/-/new?name=nojs"))
		b.do(t, "fill the form",
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=url]`), target.URL+"/nojs"),
			chromedp.SendKeys(chromedp.CSS(`#create-form textarea[name=description]`), "made without script"),
		)
		b.submit(t, "create", chromedp.Click(chromedp.CSS(`#create-form button[type=submit]`)))
		b.wantLocation(t, ts.URL+"/-/links/nojs?created=1")
		if hidden := run(t, b, "inspect the copy button", chromedp.AttributeValue(chromedp.CSS("button[data-copy]"), "hidden")); !hidden.Exists {
			t.Error("without JavaScript the copy button (which needs it) is shown")
		}
		b.submit(t, "delete", chromedp.Click(chromedp.CSS(`form.danger button`)))
		if d := b.takeDialogs(); len(d) != 0 {
			t.Errorf("dialogs without JavaScript: %q", d)
		}
		b.wantLocation(t, ts.URL+"/-/?deleted=nojs")
		b.noConsoleErrors(t)
	})

	// The search shortcut cannot be made to send the browser elsewhere.
	t.Run("ShortcutStaysOnHost", func(t *testing.T) { testShortcutStaysOnHost(t, b, ts, target) })

	// Two tabs on one link: the later save does not overwrite the earlier
	// one; it shows the other change and saves only when asked again. Then
	// an old version comes back from the history, and the link itself from
	// the deleted links.
	t.Run("TwoTabsHistoryRestore", func(t *testing.T) {
		ts.create(t, "shared", target.URL+"/shared")
		tabB, cancel := chromedp.NewContext(b.ctx) // a second tab of the same browser
		defer cancel()
		if _, err := chromedp.Run(tabB, chromedp.Location()); err != nil { // the first action opens the tab
			t.Fatalf("open tab B: %v", err)
		}
		b2 := &testBrowser{ctx: tabB, expected: map[string]bool{}}
		page := ts.URL + "/-/links/shared"
		b.do(t, "open the link in tab A", chromedp.Navigate(page))
		b2.do(t, "open the link in tab B", chromedp.Navigate(page))

		b2.do(t, "edit in tab B", chromedp.SetValue(chromedp.CSS("#f-description"), "from tab B"))
		b2.submit(t, "save in tab B", chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")))
		b2.wantLocation(t, page+"?saved=1")

		b.do(t, "edit in tab A", chromedp.SetValue(chromedp.CSS("#f-description"), "from tab A"))
		b.expect4xx(page)
		resp := b.submit(t, "save in tab A", chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")))
		if resp.Status != http.StatusConflict {
			t.Fatalf("stale save in tab A: status %d, want 409", resp.Status)
		}
		if h := run(t, b, "read the warning", chromedp.Text(chromedp.CSS(".stale h2"))); !strings.Contains(h, "Someone else changed go/shared") {
			t.Errorf("warning = %q", h)
		}
		if row := run(t, b, "read the changed row", chromedp.Text(chromedp.CSS(".stale tr.changed"))); !strings.Contains(row, "description") || !strings.Contains(row, "from tab B") || !strings.Contains(row, "from tab A") {
			t.Errorf("the description row shows %q, want tab B's value now and tab A's edit", row)
		}
		if v := run(t, b, "read the kept edit", chromedp.Value(chromedp.CSS("#f-description"))); v != "from tab A" {
			t.Errorf("tab A's edit in the form = %q", v)
		}
		b.screenshots(t, "stale-edit")
		if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/shared", "")); got.Description != "from tab B" {
			t.Fatalf("the stale save overwrote tab B's: %q", got.Description)
		}
		b.submit(t, "save again in tab A", chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")))
		b.wantLocation(t, page+"?saved=1")
		if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/shared", "")); got.Description != "from tab A" {
			t.Fatalf("after saving again: %q", got.Description)
		}

		// History: version 2 is tab B's; restore it.
		b.submit(t, "open the history", chromedp.Click(chromedp.CSS("#history-link")))
		b.wantLocation(t, page+"/history")
		b.screenshots(t, "history")
		if d := run(t, b, "read version 3's diff", chromedp.Text(chromedp.CSS("#v3 table.diff"))); !strings.Contains(d, "from tab B") || !strings.Contains(d, "from tab A") {
			t.Errorf("version 3's diff = %q", d)
		}
		b.submit(t, "restore version 2", chromedp.Click(chromedp.CSS("#v2 form.restore button")))
		b.wantLocation(t, page+"?restored=2")
		if msg := run(t, b, "read the flash", chromedp.Text(chromedp.CSS(".flash.ok"))); msg != "Restored version 2." {
			t.Errorf("flash = %q", msg)
		}
		if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/shared", "")); got.Description != "from tab B" || got.Version != 4 {
			t.Fatalf("after restoring version 2: %+v", got)
		}

		// Delete it, find it among the deleted links, bring it back.
		b.submit(t, "delete", chromedp.Click(chromedp.CSS(`form.danger button`)))
		b.takeDialogs()
		b.wantLocation(t, ts.URL+"/-/?deleted=shared")
		b.do(t, "open the deleted links", chromedp.Navigate(ts.URL+"/-/deleted"))
		b.screenshots(t, "deleted")
		b.submit(t, "restore the deleted link", chromedp.Click(chromedp.CSS("form.restore button")))
		b.wantLocation(t, page+"?restored=4")
		b.do(t, "follow the restored link", chromedp.Navigate(ts.URL+"/shared"))
		b.do(t, "wait for the target page", chromedp.WaitVisible(chromedp.ID("landed")))
		if got := b.location(t); got != target.URL+"/shared" {
			t.Errorf("go/shared landed on %s", got)
		}
		b.noConsoleErrors(t)
	})

	// An alias made in the new form follows its target in one hop; a
	// rename in the edit form shows the leave-an-alias box (ticked) only
	// once the name changes, and the old name keeps working.
	t.Run("AliasFormAndRename", func(t *testing.T) {
		ts.create(t, "kubernetes", target.URL+"/k8s")
		b.do(t, "open new", chromedp.Navigate(ts.URL+"/-/new"))
		b.do(t, "fill the alias",
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=name]`), "k8s"),
			chromedp.SendKeys(chromedp.CSS(`#create-form input[name=alias_of]`), "kubernetes"),
		)
		b.submit(t, "create the alias", chromedp.Click(chromedp.CSS(`#create-form button[type=submit]`)))
		if got := run(t, b, "read the alias line", chromedp.Text(chromedp.CSS("#alias-of"))); got != "go/kubernetes" {
			t.Fatalf("the alias's page says %q", got)
		}
		b.do(t, "follow the alias", chromedp.Navigate(ts.URL+"/k8s/pods?ns=a"))
		b.do(t, "wait for the target page", chromedp.WaitVisible(chromedp.ID("landed")))
		if got := b.location(t); got != target.URL+"/k8s/pods?ns=a" {
			t.Fatalf("go/k8s/pods?ns=a landed on %s", got)
		}

		b.do(t, "open the target's page", chromedp.Navigate(ts.URL+"/-/links/kubernetes"))
		visible := func(what string) bool {
			return run(t, b, what, chromedp.Evaluate[bool](`!document.querySelector("[data-rename-of]").hidden`))
		}
		if visible("inspect the box before a rename") {
			t.Fatal("the leave-an-alias box shows while the name is unchanged")
		}
		b.do(t, "rename", chromedp.SetValue(chromedp.CSS("#f-name"), "kub"), chromedp.SendKeys(chromedp.CSS("#f-name"), "e")) // typing fires input
		if !visible("inspect the box after a rename") {
			t.Fatal("the leave-an-alias box is hidden after the name changed")
		}
		if checked := run(t, b, "read the box", chromedp.Evaluate[bool](`document.getElementById("f-leave_alias").checked`)); !checked {
			t.Fatal("the leave-an-alias box is not ticked")
		}
		b.submit(t, "save the rename", chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")))
		b.wantLocation(t, ts.URL+"/-/links/kube?saved=1")
		b.do(t, "follow the old name", chromedp.Navigate(ts.URL+"/kubernetes/x"))
		b.do(t, "wait for the target page", chromedp.WaitVisible(chromedp.ID("landed")))
		if got := b.location(t); got != target.URL+"/k8s/x" {
			t.Fatalf("go/kubernetes/x after the rename landed on %s", got)
		}
		if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/kubernetes", "")); got.AliasOf != "kube" {
			t.Fatalf("the old name after the rename = %+v", got)
		}
		b.noConsoleErrors(t)
	})
}

// targetServer stands in for the long URLs links point at, on 127.0.0.1.
type targetServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*url.URL
}

func newTargetServer(t *testing.T) *targetServer {
	t.Helper()
	ts := &targetServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /csp-probe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		fmt.Fprint(w, `<!doctype html><title>probe</title><p style="color:red">probe</p><script>document.title="inline script ran"</script>`)
	})
	mux.HandleFunc("GET /axe-probe", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>axe probe</title><main><h1>probe</h1><img src="/favicon.ico">`+
			`<p style="color:#777;background:#888">grey on grey</p>`+
			`<p style="color:#000">Text with <a href="/x" style="color:#222;text-decoration:none">a link</a> inside it.</p></main>`)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.seen = append(ts.seen, r.URL)
		ts.mu.Unlock()
		fmt.Fprint(w, `<!doctype html><title>target</title><h1 id="landed">landed</h1>`)
	})
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *targetServer) last() *url.URL {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.seen) == 0 {
		return &url.URL{}
	}
	return ts.seen[len(ts.seen)-1]
}

// testBrowser is one headless Chromium tab plus what its pages said.
type testBrowser struct {
	ctx context.Context // the tab; every step derives a timeout from it

	mu       sync.Mutex
	console  []chromedp.ConsoleMessage
	dialogs  []string
	expected map[string]bool // URLs whose 4xx status the console may report
}

func startBrowser(t *testing.T, bin string) *testBrowser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	out := &syncWriter{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.CombinedOutput(out),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		if t.Failed() {
			t.Logf("chromium output (D-Bus noise left out):\n%s", out.withoutDBus())
		}
	})
	start := time.Now()
	// The first Do starts the browser and ties its life to the context it
	// is given: bctx, which browserTimeout bounds.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))

	b := &testBrowser{ctx: bctx, expected: map[string]bool{}}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	// Accept every confirm() (the delete button asks) and remember it.
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

func (b *testBrowser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](t *testing.T, b *testBrowser, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// submit runs actions that submit a form and waits for the page they lead to.
func (b *testBrowser) submit(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return resp
}

func (b *testBrowser) location(t *testing.T) string {
	t.Helper()
	return run(t, b, "read the location", chromedp.Location())
}

func (b *testBrowser) wantLocation(t *testing.T, want string) {
	t.Helper()
	if got := b.location(t); got != want {
		t.Fatalf("browser is at %s, want %s", got, want)
	}
}

// copyButtonCopies clicks "Copy link" and reads the clipboard back.
func (b *testBrowser) copyButtonCopies(t *testing.T, want string) {
	t.Helper()
	origin := strings.TrimSuffix(want, "/"+want[strings.LastIndex(want, "/")+1:])
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: origin,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	b.do(t, "click copy", chromedp.Click(chromedp.CSS("button[data-copy]")))
	run(t, b, "wait for Copied", chromedp.Poll[bool](`document.querySelector("button[data-copy]").textContent === "Copied"`, chromedp.WithPollingTimeout(5*time.Second)))
	got := run(t, b, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if got != want {
		t.Errorf("clipboard = %q, want %q", got, want)
	}
}

// expect4xx tells the console check that the document at u answers 4xx
// (or 5xx) on purpose (Chromium logs a network error for it).
func (b *testBrowser) expect4xx(u string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected[u] = true
}

func (b *testBrowser) takeConsole() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.console
	b.console = nil
	return c
}

func (b *testBrowser) takeDialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dialogs
	b.dialogs = nil
	return d
}

// waitConsole waits until a console message contains substr.
func (b *testBrowser) waitConsole(d time.Duration, substr string) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b.mu.Lock()
		for _, m := range b.console {
			if strings.Contains(m.Text, substr) {
				b.mu.Unlock()
				return true
			}
		}
		b.mu.Unlock()
	}
	return false
}

// noConsoleErrors fails on any error, exception or security message (a CSP
// violation) the pages wrote since the last check, except the network error
// Chromium logs for a 4xx or 5xx page the test asked for.
func (b *testBrowser) noConsoleErrors(t *testing.T) {
	t.Helper()
	// Console events arrive asynchronously; give the last page's a moment.
	time.Sleep(200 * time.Millisecond)
	for _, m := range b.takeConsole() {
		b.mu.Lock()
		expected := m.Source == "network" && b.expected[m.URL] &&
			(strings.Contains(m.Text, "the server responded with a status of 4") || strings.Contains(m.Text, "the server responded with a status of 5"))
		b.mu.Unlock()
		switch {
		case expected:
		case m.Type == chromedp.ConsoleError, m.IsException(), m.Source == "security":
			t.Errorf("console %s at %s: %s", m.Type, m.URL, m.Text)
		default:
			t.Logf("console %s at %s: %s", m.Type, m.URL, m.Text)
		}
	}
}

// screenshots saves the page at desktop width to SIGNPOST_TEST_SCREENSHOTS.
func (b *testBrowser) screenshots(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("SIGNPOST_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := run(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// syncWriter lets a goroutine's output (Chromium's, a server's log) and
// the test share a buffer.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// withoutDBus drops the D-Bus complaints Chromium prints in containers.
func (s *syncWriter) withoutDBus() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []string
	for line := range strings.Lines(s.buf.String()) {
		if !strings.Contains(line, "dbus") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}
