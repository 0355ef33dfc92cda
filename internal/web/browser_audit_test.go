package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/signpost-go/signpost/internal/links"
)

// The audits every page passes, in a real browser: axe-core (the npm
// package, which scripts/test-browser.sh installs into its cache and names
// in SIGNPOST_TEST_AXE) finds no violation in light or dark mode, and on a
// 390px phone nothing scrolls sideways, with the longest names, URLs,
// descriptions, owners and tags the service accepts.

// axeSource is axe.min.js, read from SIGNPOST_TEST_AXE; "" when unset
// outside CI (the width checks still run), a failure under CI=true.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("SIGNPOST_TEST_AXE")
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SIGNPOST_TEST_AXE is not set: under CI the accessibility audit must run (scripts/test-browser.sh installs axe-core and sets it)")
		}
		t.Log("SIGNPOST_TEST_AXE is not set: no axe audit (scripts/test-browser.sh installs axe-core from npm and sets it)")
		return ""
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("SIGNPOST_TEST_AXE: %v", err)
	}
	return string(src)
}

// axeViolation is what the test reports of one violated rule.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// axeScript runs axe on the page (the axe source is injected by the
// caller) and returns its violations as JSON. DevTools' evaluation is not
// bound by the page's CSP, so the pages need no exception for it.
const axeScript = `(async () => {
  const r = await axe.run(document, {resultTypes: ["violations"]});
  return JSON.stringify(r.violations.map(v => ({ID: v.id, Impact: v.impact || "", Help: v.help,
    Nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " "))})));
})()`

// axe runs axe-core on the page the browser shows and returns what it
// found.
func (b *testBrowser) axe(t *testing.T, src string) []axeViolation {
	t.Helper()
	if ok := run(t, b, "inject axe", chromedp.Evaluate[bool](src+";typeof axe === 'object'")); !ok {
		t.Fatal("axe did not load")
	}
	out := run(t, b, "run axe", chromedp.Evaluate[string](axeScript, chromedp.EvalAwaitPromise))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe's answer: %v: %.300s", err, out)
	}
	return vs
}

// desktop ends the phone emulation: the window is the desktop's again.
func (b *testBrowser) desktop(t *testing.T) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		t.Fatalf("end the phone emulation: %v", err)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: false}); err != nil {
		t.Fatalf("end the touch emulation: %v", err)
	}
}

// colorScheme makes the page's prefers-color-scheme light or dark.
func (b *testBrowser) colorScheme(t *testing.T, scheme string) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatalf("emulate %s mode: %v", scheme, err)
	}
}

// layoutWidth is how wide the page lays out: the viewport, or more when
// something scrolls sideways (a mobile browser widens its layout viewport
// to fit such content, so both are measured).
func (b *testBrowser) layoutWidth(t *testing.T) int {
	t.Helper()
	return run(t, b, "measure the width", chromedp.Evaluate[int](`Math.max(window.innerWidth, document.documentElement.scrollWidth)`))
}

// overflowing names the elements that reach past a 390px phone's width,
// for the message of a failed width check.
const overflowing = `JSON.stringify([...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 390.5 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible")
  .slice(-8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "")))`

// auditPage is one page of the audit: how to reach it (most are a
// navigation; some need a form submitted first), and a check that the
// browser is really there.
type auditPage struct {
	name  string
	path  string                             // navigated to, when open is nil
	open  func(t *testing.T, b *testBrowser) // reaches the page some other way
	check string                             // CSS selector that the page has
}

// audit checks each page: no axe violation in light and dark mode at
// desktop width, and no sideways scrolling on a 390px phone.
func audit(t *testing.T, b *testBrowser, base string, axeSrc string, pages []auditPage) {
	t.Helper()
	reach := func(t *testing.T, p auditPage) {
		t.Helper()
		if p.open != nil {
			p.open(t, b)
		} else {
			b.do(t, "open "+p.path, chromedp.Navigate(base+p.path))
		}
		if p.check != "" {
			if n := run(t, b, "find "+p.check, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, p.check))); n == 0 {
				t.Fatalf("%s: the page has no %s (at %s)", p.name, p.check, b.location(t))
			}
		}
	}
	if axeSrc != "" {
		if w := run(t, b, "measure the window", chromedp.Evaluate[int](`window.innerWidth`)); w < 1000 {
			t.Fatalf("the axe audit runs at desktop width, but the window is %dpx wide", w)
		}
		for _, scheme := range []string{"light", "dark"} {
			b.colorScheme(t, scheme)
			for _, p := range pages {
				reach(t, p)
				if dark := run(t, b, "read the color scheme", chromedp.Evaluate[bool](`matchMedia("(prefers-color-scheme: dark)").matches`)); dark != (scheme == "dark") {
					t.Fatalf("%s: prefers-color-scheme is not %s", p.name, scheme)
				}
				for _, v := range b.axe(t, axeSrc) {
					t.Errorf("%s (%s mode): axe %s (%s): %s\n\t%s", p.name, scheme, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
				}
				b.screenshots(t, "audit-"+scheme+"-"+p.name)
			}
		}
		b.colorScheme(t, "light")
	}
	b.do(t, "emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	defer b.desktop(t)
	for _, p := range pages {
		reach(t, p)
		if w := b.layoutWidth(t); w != 390 {
			wide := run(t, b, "find what overflows", chromedp.Evaluate[string](overflowing))
			t.Errorf("%s lays out %dpx wide on a 390px phone (too wide: %s)", p.name, w, wide)
		}
		b.screenshots(t, "phone-"+p.name)
	}
}

// Long values, at the limits the service accepts: what makes a layout
// overflow. A name or word without a break is the worst case.
var (
	longName  = strings.Repeat("w", 100)
	longWords = "Quarterly-planning-spreadsheet-for-the-infrastructure-team"
	longDesc  = strings.Repeat("d", 600) + " " + strings.Repeat("Runbook for the on-call rotation. ", 40)
	longOwner = "group:" + strings.Repeat("o", 120)
	longTags  = []string{strings.Repeat("t", 32), "infra", "oncall", strings.Repeat("u", 32), "a", "b", "c", "d"}
)

func longURL(base string) string {
	return base + "/" + strings.Repeat("p", 1500) + "?q=" + strings.Repeat("v", 400)
}

// testAuditEveryPage seeds links at the limits and audits every page the
// UI has in AUTH_MODE=none (TestBrowserSignIn audits the signed-in ones).
func testAuditEveryPage(t *testing.T, b *testBrowser, axeSrc string) {
	ts := newTestServer(t, false)
	target := newTargetServer(t)
	b.expect4xx(ts.URL + "/-/links")
	// The empty state first, before anything exists.
	audit(t, b, ts.URL, axeSrc, []auditPage{{name: "home-empty", path: "/-/", check: ".empty-state"}})

	post := func(body string) {
		t.Helper()
		if r := ts.do(t, "POST", "/api/v1/links", body); r.status != http.StatusCreated {
			t.Fatalf("create %.100s: %d %s", body, r.status, r.body)
		}
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	post(fmt.Sprintf(`{"name":%s,"url":%s,"description":%s,"owner":%s,"tags":%s}`, js(longName), js(longURL(target.URL)), js(longDesc), js(longOwner), js(longTags)))
	post(fmt.Sprintf(`{"name":%s,"url":%s,"description":"Plain words that wrap as words do.","tags":["infra","docs"]}`, js(longWords), js(target.URL+"/sheet")))
	post(fmt.Sprintf(`{"name":"docs","url":%s,"owner":"ana@example.com","description":"The handbook"}`, js(target.URL+"/handbook")))
	post(`{"name":"intl","url":"https://bücher.example/x"}`)
	post(`{"name":"gh","url":"https://github.com/search?q={{QueryEscape .Path}}"}`)
	// A template that fails for long paths: its page shows the last failure.
	post(`{"name":"dbl","url":"https://x.example/{{if gt (len .Path) 100}}{{with $p := printf \"%s%s\" .Path .Path}}{{with $p := printf \"%s%s\" $p $p}}{{with $p := printf \"%s%s\" $p $p}}{{$p}}{{end}}{{end}}{{end}}{{else}}ok{{end}}"}`)
	failing := "/dbl/" + strings.Repeat("a", 2000)
	if r := ts.do(t, "GET", failing, ""); r.status != http.StatusBadGateway {
		t.Fatalf("the failing template answered %d", r.status)
	}
	post(fmt.Sprintf(`{"name":"gone","url":%s,"description":%s}`, js(longURL(target.URL)), js(longDesc)))
	if r := ts.do(t, "DELETE", "/api/v1/links/gone", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"description":"The handbook, second edition"}`, "Content-Type", "application/merge-patch+json"); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}

	// Clicks on several days: the link page draws its chart.
	for i, n := range []int64{3, 12, 1, 7} {
		at := time.Now().Add(-time.Duration(i*9) * 24 * time.Hour)
		if err := ts.store.AddClicks(context.Background(), []links.Click{{Key: "docs", N: n, Last: at}}); err != nil {
			t.Fatal(err)
		}
	}

	esc := url.PathEscape
	edits := 0
	pages := []auditPage{
		{name: "home", path: "/-/", check: "#popular-h"},
		{name: "home-deleted", path: "/-/?deleted=gone", check: ".flash.ok"},
		{name: "search", path: "/-/?q=w", check: "#total"},
		{name: "search-nothing", path: "/-/?q=zzz", check: ".empty-state"},
		{name: "directory", path: "/-/links", check: "table.dir"},
		{name: "directory-filtered", path: "/-/links?tag=infra&sort=clicks", check: "table.dir"},
		{name: "directory-empty", path: "/-/links?owner=nobody", check: ".empty-state"},
		{name: "directory-clicks-30d", path: "/-/links?sort=clicks_30d", check: "table.dir"},
		{name: "directory-stale", path: "/-/links?stale=true", check: ".empty-state"},
		{name: "link-chart", path: "/-/links/docs", check: "#clicks-chart .chart-bar"},
		{name: "link-owned-long", path: "/-/links/" + esc(longName) + "?created=1", check: "form.danger"},
		{name: "link-unowned", path: "/-/links/" + esc(longWords) + "?saved=1", check: "#edit-form"},
		{name: "link-idn", path: "/-/links/intl", check: ".idn"},
		{name: "link-template", path: "/-/links/gh", check: ".target code"},
		{name: "link-failure", path: "/-/links/dbl", check: ".flash.error"},
		{name: "link-stale", check: ".stale", open: func(t *testing.T, b *testBrowser) {
			// Open the edit form, let someone else save, then save: the
			// page answers 409 with the other change beside this edit.
			page := ts.URL + "/-/links/" + esc(longName)
			b.expect4xx(page)
			b.do(t, "open the link", chromedp.Navigate(page))
			edits++
			if r := ts.do(t, "PATCH", "/api/v1/links/"+esc(longName), fmt.Sprintf(`{"description":"someone else's %d %s"}`, edits, strings.Repeat("e", 300)), "Content-Type", "application/merge-patch+json"); r.status != http.StatusOK {
				t.Fatalf("patch: %d %s", r.status, r.body)
			}
			b.do(t, "edit", chromedp.SetValue(chromedp.CSS("#f-description"), "mine "+strings.Repeat("m", 300)))
			if resp := b.submit(t, "save", chromedp.Click(chromedp.CSS("#edit-form button[type=submit]"))); resp.Status != http.StatusConflict {
				t.Fatalf("stale save: %d", resp.Status)
			}
		}},
		{name: "link-field-error", check: "[aria-invalid=true]", open: func(t *testing.T, b *testBrowser) {
			page := ts.URL + "/-/links/docs"
			b.expect4xx(page)
			b.do(t, "open the link", chromedp.Navigate(page))
			b.do(t, "edit", chromedp.SetValue(chromedp.CSS("#f-tags"), "-bad "+strings.Repeat("x", 40)))
			b.submit(t, "save", chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")))
		}},
		{name: "new", path: "/-/new?name=" + longName + "&url=" + url.QueryEscape(longURL(target.URL)), check: "#create-form"},
		{name: "new-field-error", check: "[aria-invalid=true]", open: func(t *testing.T, b *testBrowser) {
			b.do(t, "open new", chromedp.Navigate(ts.URL+"/-/new?name=bad&url=ftp://x.example"))
			b.submit(t, "create", chromedp.Click(chromedp.CSS("#create-form button[type=submit]")))
		}},
		{name: "new-conflict", check: "[aria-invalid=true]", open: func(t *testing.T, b *testBrowser) {
			b.do(t, "open new", chromedp.Navigate(ts.URL+"/-/new?name=Do-cs&url="+url.QueryEscape(target.URL)))
			b.submit(t, "create", chromedp.Click(chromedp.CSS("#create-form button[type=submit]")))
		}},
		{name: "notfound", path: "/" + longName[:99] + "x/deep?q=1", check: "#create-form"},
		{name: "notfound-invalid", path: "/-bad-name", check: ".flash.error"},
		{name: "help", path: "/-/help", check: "#hostname"},
		{name: "history", path: "/-/links/docs/history", check: "#v2"},
		{name: "history-long", path: "/-/links/" + esc(longName) + "/history", check: "ol.history"},
		{name: "history-deleted", path: "/-/links/gone/history", check: "form.restore"},
		{name: "deleted", path: "/-/deleted", check: "form.restore"},
		{name: "audit", path: "/-/audit", check: "ol.history"},
		{name: "tokens", path: "/-/tokens", check: "main h1"},
		{name: "error-404", path: "/-/nowhere/" + longName, check: ".flash.error"},
		{name: "error-400", path: "/-/?q=" + strings.Repeat("q", 300), check: ".flash.error"},
		{name: "error-502", path: failing, check: ".flash.error"},
		{name: "login-off", path: "/-/login", check: ".flash.error"},
	}
	for _, p := range pages {
		if p.path != "" {
			b.expect4xx(ts.URL + p.path)
		}
	}
	audit(t, b, ts.URL, axeSrc, pages)
	b.noConsoleErrors(t)
}

// testAxeSeesViolations proves the audit can fail: a page with known
// violations (an image without alt text, grey on grey) must be reported.
func testAxeSeesViolations(t *testing.T, b *testBrowser, target *targetServer, axeSrc string) {
	if axeSrc == "" {
		t.Skip("SIGNPOST_TEST_AXE is not set")
	}
	b.do(t, "open the axe probe", chromedp.Navigate(target.URL+"/axe-probe"))
	got := map[string]bool{}
	for _, v := range b.axe(t, axeSrc) {
		got[v.ID] = true
	}
	for _, want := range []string{"image-alt", "color-contrast", "link-in-text-block"} {
		if !got[want] {
			t.Errorf("axe did not report %s on a page made to violate it (it reported %v)", want, got)
		}
	}
	b.takeConsole()
}
