package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
	"github.com/signpost-go/signpost/internal/store/storetest"
)

// go test -run '^$' -bench Flush -benchtime 5x ./internal/store/sqlite/
func BenchmarkFlush(b *testing.B) {
	storetest.BenchmarkFlush(b, func(b *testing.B) links.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
