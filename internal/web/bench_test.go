package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// BenchmarkRedirect measures the redirect handler alone (no network) over
// 10,000 links looked up by random names (every tenth an alias of the one
// before: the same lookup, the same hop); BenchmarkBareRedirect is a handler
// that answers every request with a fixed 302, the floor to compare with.
//
//	go test -run XXX -bench Redirect -benchmem ./internal/web/
func BenchmarkRedirect(b *testing.B) {
	ts := newTestServer(b, false)
	const n = 10000
	ls := make([]links.Link, n)
	names := make([]string, n)
	now := time.Now().UTC()
	for i := range ls {
		names[i] = fmt.Sprintf("link-%05d", i)
		ls[i] = links.Link{Name: names[i], Key: links.Normalize(names[i]), URL: fmt.Sprintf("https://example.com/%d/docs", i), CreatedAt: now, UpdatedAt: now}
		if i%10 == 9 {
			ls[i].URL, ls[i].AliasOf = "", names[i-1]
		}
	}
	if err := ts.store.Import(context.Background(), links.All(ls), links.ImportOptions{Stats: true}); err != nil {
		b.Fatal(err)
	}
	if err := ts.index.Load(context.Background(), ts.store); err != nil {
		b.Fatal(err)
	}
	h := ts.Config.Handler
	reqs := make([]*http.Request, 1024)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", "/"+names[rand.IntN(n)]+"/a/b?x=1", nil)
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if w.code != http.StatusFound {
			b.Fatalf("status %d", w.code)
		}
	}
}

func BenchmarkBareRedirect(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Location"] = []string{"https://example.com/fixed"}
		w.WriteHeader(http.StatusFound)
	})
	req := httptest.NewRequest("GET", "/link-00042/a/b?x=1", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// discard is a ResponseWriter that keeps only the status, so the benchmark
// measures the handler rather than a recorder's buffers.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkHomePage renders the home page (20 links) and sends it as a
// browser asks for it: uncompressed, gzip, brotli. The difference is what
// compressing pages costs per request.
//
//	go test -run XXX -bench HomePage -benchmem ./internal/web/
func BenchmarkHomePage(b *testing.B) {
	ts := newTestServer(b, false)
	for i := range 20 {
		ts.create(b, fmt.Sprintf("link-%02d", i), fmt.Sprintf("https://example.com/%d/a/long/path", i))
	}
	h := ts.Config.Handler
	for _, enc := range []string{"identity", "gzip", "br"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/-/", nil)
			req.Header.Set("Accept-Encoding", enc)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
