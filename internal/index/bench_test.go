package index_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
)

// The index benchmarks run at 10k, 100k and 1M links (45-character URLs),
// reporting allocations:
//
//	go test -run XXX -bench . -benchmem ./internal/index/
var benchSizes = []int{10_000, 100_000, 1_000_000}

// sliceStore serves Targets from memory, so that the benchmarks measure the
// index rather than a database read.
type sliceStore struct {
	links.Store
	ls []links.Link
}

func (s sliceStore) Version(context.Context) (int64, error) { return 1, nil }

func (s sliceStore) Count(context.Context, links.ListOptions) (int, error) { return len(s.ls), nil }

func (s sliceStore) Targets(ctx context.Context, fn func(key, url string) error) error {
	for _, l := range s.ls {
		if err := fn(l.Key, l.URL); err != nil {
			return err
		}
	}
	return nil
}

func benchLinks(n int) []links.Link {
	now := time.Now().UTC()
	ls := make([]links.Link, n)
	for i := range ls {
		name := fmt.Sprintf("link-%07d", i)
		ls[i] = links.Link{Name: name, Key: links.Normalize(name), URL: fmt.Sprintf("https://example.com/%07d/docs/some/longer/path", i),
			Description: fmt.Sprintf("Link number %d for the team", i), CreatedAt: now, UpdatedAt: now}
	}
	return ls
}

func loaded(b *testing.B, ls []links.Link) *index.Index {
	b.Helper()
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(context.Background(), sliceStore{ls: ls}); err != nil {
		b.Fatal(err)
	}
	return ix
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes {
		benchLoad(b, benchLinks(n))
	}
}

// BenchmarkLoadWithTemplates is BenchmarkLoad with one link in 20 a
// template (bench/scale.sh's mix): what a template link costs.
func BenchmarkLoadWithTemplates(b *testing.B) {
	for _, n := range benchSizes {
		ls := benchLinks(n)
		for i := 7; i < n; i += 20 {
			ls[i].URL = fmt.Sprintf("https://search.example.com/q?s={{QueryEscape .Path}}&n=%07d", i)
		}
		benchLoad(b, ls)
	}
}

func benchLoad(b *testing.B, ls []links.Link) {
	b.Run(fmt.Sprint(len(ls)), func(b *testing.B) {
		b.ReportAllocs()
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		var ix *index.Index
		for b.Loop() {
			ix = nil
			ix = loaded(b, ls)
		}
		// What the index keeps: the live heap it adds to its input.
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc-before)/float64(len(ls)), "heapB/link")
		runtime.KeepAlive(ix)
	})
}

func BenchmarkLookupName(b *testing.B) {
	for _, n := range benchSizes {
		ls := benchLinks(n)
		ix := loaded(b, ls)
		names := make([]string, 4096)
		for i := range names {
			names[i] = ls[rand.IntN(n)].Name
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := ix.LookupName(names[i%len(names)]); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	for _, n := range benchSizes {
		ls := benchLinks(n)
		ix := loaded(b, ls)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				l := ls[rand.IntN(n)]
				l.URL = fmt.Sprintf("https://example.com/changed/%d", i)
				if err := ix.Put(l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPendingClicks(b *testing.B) {
	for _, n := range benchSizes {
		ls := benchLinks(n)
		ix := loaded(b, ls)
		for i := 0; i < n/10; i++ {
			if e, ok := ix.Lookup(ls[rand.IntN(n)].Key); ok {
				ix.Click(e)
			}
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ix.PendingClicks()
			}
		})
	}
}
