package postgres

import (
	"context"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
	"github.com/signpost-go/signpost/internal/store/storetest"
)

// scripts/test-postgres.sh run go test -run '^$' -bench Flush -benchtime 5x ./internal/store/postgres/
func BenchmarkFlush(b *testing.B) {
	storetest.BenchmarkFlush(b, func(b *testing.B) links.Store {
		s, err := Open(context.Background(), pgtest.NewDatabase(b), Options{MaxOpenConns: 4, MaxIdleConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
