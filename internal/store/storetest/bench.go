package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// BenchmarkFlush is one click flush of n dirty links as the flusher
// writes it (sorted by key, index.FlushBatch links per AddClicks) into a
// database of n links, for n of 10k and 100k: the totals and, since the
// daily counts, each link's day. open gives each size an empty store.
func BenchmarkFlush(b *testing.B, open func(b *testing.B) links.Store) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			s := open(b)
			defer s.Close()
			now := time.Now().UTC()
			ls := make([]links.Link, n)
			for i := range ls {
				name := fmt.Sprintf("link%07d", i)
				ls[i] = links.Link{Name: name, Key: name, URL: "https://example.com/" + name, CreatedAt: now, UpdatedAt: now}
			}
			if err := s.Import(ctx, links.All(ls), links.ImportOptions{}); err != nil {
				b.Fatal(err)
			}
			const batch = 1000 // index.FlushBatch
			cs := make([]links.Click, n)
			b.ResetTimer()
			for i := range b.N {
				at := now.Add(time.Duration(i) * time.Second)
				for j := range cs {
					cs[j] = links.Click{Key: ls[j].Key, N: 1, Last: at}
				}
				for j := 0; j < n; j += batch {
					if err := s.AddClicks(ctx, cs[j:min(j+batch, n)]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
