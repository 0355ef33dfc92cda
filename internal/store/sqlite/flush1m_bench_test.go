package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// The worst flush at a million links (issue 13): a million uniformly
// random clicks in one interval reach 632k distinct links; 181k is a busy
// interval's worth. In key order, 1,000 links per AddClicks, as the
// flusher writes them (totals and days). About 30 s of setup.
//
//	go test -run '^$' -bench FlushAt1M -benchtime 1x ./internal/store/sqlite/
func BenchmarkFlushAt1M(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "flush.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1_000_000
	now := time.Now().UTC()
	ls := make([]links.Link, n)
	for i := range ls {
		name := fmt.Sprintf("link%07d", i)
		ls[i] = links.Link{Name: name, Key: name, URL: "https://example.com/" + name, CreatedAt: now, UpdatedAt: now}
	}
	if err := s.Import(ctx, links.All(ls), links.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, distinct := range []int{181_000, 632_000} {
		b.Run(fmt.Sprint(distinct), func(b *testing.B) {
			perm := rand.Perm(n)[:distinct]
			slices.Sort(perm)
			cs := make([]links.Click, distinct)
			for i := range b.N {
				for j, k := range perm {
					cs[j] = links.Click{Key: ls[k].Key, N: 1, Last: now.Add(time.Duration(i) * time.Second)}
				}
				for j := 0; j < distinct; j += 1000 {
					if err := s.AddClicks(ctx, cs[j:min(j+1000, distinct)]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
