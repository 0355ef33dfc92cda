package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// testShortcutStaysOnHost drives the browser at /-/go with every hostile
// query of hostileShortcuts, EVIL being a second local server standing in
// for the attacker's: wherever the browser ends up, it must never be there,
// and that server must never see a request. A probe first proves that the
// browser really follows "/\host" to another host, so that the check can
// fail.
func testShortcutStaysOnHost(t *testing.T, b *testBrowser, ts *testServer, target *targetServer) {
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			// Fetched late for the probe's page; a page landing here is
			// caught by its own request and by the location check.
			w.WriteHeader(http.StatusNotFound)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>evil</title><h1 id="landed">evil</h1>`))
	}))
	defer evil.Close()
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Location"] = []string{`/\` + evilHost + `/probe`}
		w.WriteHeader(http.StatusFound)
	}))
	defer probe.Close()

	host := func() string {
		u, err := url.Parse(b.location(t))
		if err != nil {
			t.Fatal(err)
		}
		return u.Host
	}
	b.do(t, "follow the probe's /\\host redirect", chromedp.Navigate(probe.URL+"/"))
	if got := host(); got != evilHost || hits.Load() != 1 {
		t.Fatalf(`a Location of "/\host" took the browser to %s (%d requests on the other host); the browser does not behave as the test assumes`, got, hits.Load())
	}
	hits.Store(0)

	ts.create(t, "docs", target.URL+"/handbook")
	goHost := strings.TrimPrefix(ts.URL, "http://")
	targetHost := strings.TrimPrefix(target.URL, "http://")
	for _, raw := range hostileShortcuts {
		raw = strings.ReplaceAll(raw, "EVIL", evilHost)
		u := ts.URL + "/-/go?q=" + raw
		b.expect4xx(u)
		b.do(t, "open "+u, chromedp.Navigate(u))
		if got := host(); got != goHost && got != targetHost {
			t.Errorf("/-/go?q=%s took the browser to %s (%s)", raw, got, b.location(t))
		}
		if n := hits.Swap(0); n != 0 {
			t.Errorf("/-/go?q=%s: the other host saw %d requests", raw, n)
		}
	}
	// And the shortcut still works.
	b.do(t, "use the shortcut", chromedp.Navigate(ts.URL+"/-/go?q=docs/a/b%3Fx%3D1"))
	b.do(t, "wait for the target page", chromedp.WaitVisible(chromedp.ID("landed")))
	if got := b.location(t); got != target.URL+"/handbook/a/b?x=1" {
		t.Errorf("the shortcut docs/a/b?x=1 landed on %s", got)
	}
	b.takeConsole() // the 400 pages' network errors are expected
}
