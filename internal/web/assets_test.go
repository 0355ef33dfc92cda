package web_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// decodeBody undoes a response's Content-Encoding.
func decodeBody(t *testing.T, r response) string {
	t.Helper()
	var rd io.Reader
	switch enc := r.header.Get("Content-Encoding"); enc {
	case "":
		return r.body
	case "br":
		rd = brotli.NewReader(strings.NewReader(r.body))
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		rd = zr
	default:
		t.Fatalf("Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("decode %s: %v", r.header.Get("Content-Encoding"), err)
	}
	return string(b)
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/-/static/([a-z]+)\.([0-9a-f]{16})\.([a-z]+))"`)

// The pages link to the static files by fingerprinted names, which are
// served compressed as the client asks, with a strong ETag per encoding,
// 304 on If-None-Match, and kept for a year; the plain names (and old
// fingerprints, from pages served before a deploy) get the current file
// and are checked each time.
func TestStaticFilesFingerprintedAndCompressed(t *testing.T) {
	ts := newTestServer(t, false)
	page := ts.do(t, "GET", "/-/", "")
	refs := assetRef.FindAllStringSubmatch(page.body, -1)
	if len(refs) != 3 {
		t.Fatalf("the page links to %d fingerprinted files, want style.css, favicon.svg and app.js: %v", len(refs), refs)
	}
	for _, ref := range refs {
		path, plainPath := ref[1], "/-/static/"+ref[2]+"."+ref[4]
		t.Run(ref[2]+"."+ref[4], func(t *testing.T) {
			plain := ts.do(t, "GET", plainPath, "", "Accept-Encoding", "identity")
			if plain.status != 200 || plain.header.Get("Cache-Control") != "no-cache" || plain.header.Get("ETag") == "" {
				t.Fatalf("GET %s: %d, Cache-Control %q, ETag %q", plainPath, plain.status, plain.header.Get("Cache-Control"), plain.header.Get("ETag"))
			}
			tags := map[string]string{}
			for _, tt := range []struct{ accept, enc string }{
				{"identity", ""}, {"gzip", "gzip"}, {"gzip, deflate, br, zstd", "br"}, {"br;q=0, gzip", "gzip"},
				{"*", "br"}, {"*;q=0", ""}, {"br;q=0.5, gzip;q=1", "br"}, {"GZIP", "gzip"},
			} {
				// (An explicit Accept-Encoding keeps Go's client from
				// asking for gzip and decoding it itself.)
				hdr := []string{"Accept-Encoding", tt.accept}
				r := ts.do(t, "GET", path, "", hdr...)
				if r.status != 200 {
					t.Fatalf("GET %s (%q): %d", path, tt.accept, r.status)
				}
				enc := r.header.Get("Content-Encoding")
				if ref[4] == "svg" && enc == "" && tt.enc != "" {
					tt.enc = "" // allowed: an encoding that is not smaller is not made
				}
				if enc != tt.enc {
					t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tt.accept, enc, tt.enc)
				}
				if got := decodeBody(t, r); got != plain.body {
					t.Errorf("Accept-Encoding %q: the body differs from the file", tt.accept)
				}
				tag := r.header.Get("ETag")
				if strings.HasPrefix(tag, "W/") || !strings.HasPrefix(tag, `"`+ref[3]) {
					t.Errorf("ETag %q: want a strong tag of the content hash %s", tag, ref[3])
				}
				if prev, ok := tags[enc]; ok && prev != tag {
					t.Errorf("encoding %q has ETags %s and %s", enc, prev, tag)
				}
				tags[enc] = tag
				if cc := r.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
					t.Errorf("Cache-Control %q", cc)
				}
				if enc != "" && r.header.Get("Vary") != "Accept-Encoding" {
					t.Errorf("Vary %q", r.header.Get("Vary"))
				}
				if enc != "" && len(r.body) >= len(plain.body) {
					t.Errorf("%s is %d bytes, the file %d", enc, len(r.body), len(plain.body))
				}
				// The client has it: 304, nothing sent (a weak tag matches too).
				for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag} {
					nm := ts.do(t, "GET", path, "", append(hdr, "If-None-Match", inm)...)
					if nm.status != http.StatusNotModified || nm.body != "" {
						t.Errorf("If-None-Match %s: %d with %d bytes, want 304", inm, nm.status, len(nm.body))
					}
				}
				if nm := ts.do(t, "GET", path, "", append(hdr, "If-None-Match", `"`+strings.Repeat("0", 16)+`"`)...); nm.status != 200 {
					t.Errorf("another ETag: %d, want 200", nm.status)
				}
			}
			if len(tags) < 2 && ref[4] != "svg" {
				t.Errorf("one ETag for every encoding: %v", tags)
			}
			// An older fingerprint: the current file, to be checked again.
			old := ts.do(t, "GET", "/-/static/"+ref[2]+"."+strings.Repeat("a", 16)+"."+ref[4], "", "Accept-Encoding", "identity")
			if old.status != 200 || old.body != plain.body || old.header.Get("Cache-Control") != "no-cache" {
				t.Errorf("an old fingerprint: %d, Cache-Control %q", old.status, old.header.Get("Cache-Control"))
			}
		})
	}
	for _, path := range []string{"/-/static/", "/-/static/nope.css", "/-/static/style.css/x", "/-/static/style.zz.css"} {
		if r := ts.do(t, "GET", path, ""); r.status != 404 {
			t.Errorf("GET %s = %d, want 404", path, r.status)
		}
	}
}

// Static files are compressed once, at start-up: serving one compressed
// allocates a few hundred bytes, not a compressor's tables.
func TestStaticFilesCompressedOnce(t *testing.T) {
	ts := newTestServer(t, false)
	path := assetRef.FindStringSubmatch(ts.do(t, "GET", "/-/", "").body)[1]
	h := ts.Config.Handler
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept-Encoding", "br")
	serve := func() int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Header().Get("Content-Encoding") != "br" {
			t.Fatalf("GET %s: %d %q", path, w.Code, w.Header().Get("Content-Encoding"))
		}
		return w.Body.Len()
	}
	size := serve()
	var before, after runtime.MemStats
	const n = 50
	runtime.ReadMemStats(&before)
	for range n {
		serve()
	}
	runtime.ReadMemStats(&after)
	// The recorder copies the body once; anything past a few KiB more
	// per request would be compression.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > uint64(size)+16<<10 {
		t.Errorf("serving %s (%d bytes of brotli) allocates %d bytes a request: compressed per request?", path, size, per)
	}
}

// Pages are compressed when the client accepts it, carry a strong ETag of
// their content (304 when the browser has it), vary by Accept-Encoding
// and are kept by no shared cache. The redirect is left alone.
func TestPagesCompressed(t *testing.T) {
	ts := newTestServer(t, false)
	for i := range 20 {
		ts.create(t, fmt.Sprintf("link-%02d", i), fmt.Sprintf("https://example.com/%d/a/long/path/to/somewhere", i))
	}
	identity := ts.do(t, "GET", "/-/", "", "Accept-Encoding", "identity")
	if identity.header.Get("Content-Encoding") != "" || identity.header.Get("Cache-Control") != "private, no-cache" || !strings.Contains(identity.header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("identity: %v", identity.header)
	}
	for _, enc := range []string{"gzip", "br"} {
		r := ts.do(t, "GET", "/-/", "", "Accept-Encoding", enc)
		if r.header.Get("Content-Encoding") != enc || decodeBody(t, r) != identity.body || len(r.body) >= len(identity.body)/2 {
			t.Errorf("%s: Content-Encoding %q, %d bytes for %d", enc, r.header.Get("Content-Encoding"), len(r.body), len(identity.body))
		}
		tag := r.header.Get("ETag")
		if !strings.HasPrefix(tag, `"`) || tag == identity.header.Get("ETag") {
			t.Errorf("%s: ETag %q (identity's %q)", enc, tag, identity.header.Get("ETag"))
		}
		if nm := ts.do(t, "GET", "/-/", "", "Accept-Encoding", enc, "If-None-Match", tag); nm.status != 304 || nm.body != "" {
			t.Errorf("%s: If-None-Match: %d", enc, nm.status)
		}
	}
	// A change makes another page, another ETag.
	tag := identity.header.Get("ETag")
	ts.create(t, "fresh", "https://fresh.example")
	if r := ts.do(t, "GET", "/-/", "", "Accept-Encoding", "identity", "If-None-Match", tag); r.status != 200 || r.header.Get("ETag") == tag {
		t.Errorf("after a change: %d, ETag %q", r.status, r.header.Get("ETag"))
	}
	// Error pages are compressed too, and get no ETag.
	if r := ts.do(t, "GET", "/missing-link", "", "Accept-Encoding", "gzip"); r.status != 404 || r.header.Get("Content-Encoding") != "gzip" || r.header.Get("ETag") != "" {
		t.Errorf("404 page: %d, %v", r.status, r.header)
	}
	// The redirect: no compression, no Vary, no ETag.
	r := ts.do(t, "GET", "/link-01/x", "", "Accept-Encoding", "gzip, br")
	if r.status != 302 || r.header.Get("Content-Encoding") != "" || r.header.Get("Vary") != "" || r.header.Get("ETag") != "" {
		t.Errorf("redirect: %d %v", r.status, r.header)
	}
	// A token's secret is shown once: never stored, never revalidated.
	ps := newProxyServer(t, false)
	tok := ps.do(t, "POST", "/-/tokens", "name=x&scope=links:read", append(formHdr(as("ana@x")), "Accept-Encoding", "gzip")...)
	if tok.status != 201 || tok.header.Get("Cache-Control") != "no-store" || tok.header.Get("ETag") != "" || tok.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("token page: %d %v", tok.status, tok.header)
	}
}

// What a first visit downloads: the home page with its stylesheet, script
// and icon, as sent without compression, with gzip and with brotli
// (docs/web-ui.md quotes these). A budget keeps them small.
func TestFirstVisitWeight(t *testing.T) {
	ts := newTestServer(t, false)
	for i := range 10 {
		ts.create(t, fmt.Sprintf("link-%02d", i), fmt.Sprintf("https://example.com/%d/docs", i))
	}
	type row struct {
		name            string
		plain, gzip, br int
	}
	var rows []row
	fetch := func(name, path string) {
		var rw row
		rw.name = name
		for _, enc := range []string{"identity", "gzip", "br"} {
			r := ts.do(t, "GET", path, "", "Accept-Encoding", enc)
			if r.status != 200 {
				t.Fatalf("GET %s: %d", path, r.status)
			}
			switch enc {
			case "identity":
				rw.plain = len(r.body)
			case "gzip":
				rw.gzip = len(r.body)
			case "br":
				rw.br = len(r.body)
			}
		}
		rows = append(rows, rw)
	}
	for _, p := range []struct{ name, path string }{
		{"home (10 links)", "/-/"}, {"link page", "/-/links/link-01"}, {"directory", "/-/links"}, {"new", "/-/new"}, {"help", "/-/help"},
	} {
		fetch(p.name, p.path)
	}
	for _, ref := range assetRef.FindAllStringSubmatch(ts.do(t, "GET", "/-/", "").body, -1) {
		fetch(ref[2]+"."+ref[4], ref[1])
	}
	var first row
	first.name = "first visit (home + files)"
	var b bytes.Buffer
	b.WriteString("\n| | uncompressed | gzip | brotli |\n|---|---:|---:|---:|\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", r.name, r.plain, r.gzip, r.br)
		if i == 0 || i >= 5 {
			first.plain, first.gzip, first.br = first.plain+r.plain, first.gzip+r.gzip, first.br+r.br
		}
	}
	fmt.Fprintf(&b, "| **%s** | %d | %d | %d |\n", first.name, first.plain, first.gzip, first.br)
	t.Log(b.String())
	if first.gzip > 12<<10 || first.br > 10<<10 || first.plain > 40<<10 {
		t.Errorf("a first visit weighs %d bytes (%d gzip, %d brotli): over the budget of 40 KiB (12 KiB, 10 KiB)", first.plain, first.gzip, first.br)
	}
}
