package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
	"github.com/signpost-go/signpost/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) links.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{MaxOpenConns: 4, MaxIdleConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestTokenConformance(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) interface {
		links.TokenStore
		Close() error
	} {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsLinks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, links.Link{Name: "docs", Key: "docs", URL: "https://a.example"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if l, err := s.Get(ctx, "docs"); err != nil || l.URL != "https://a.example" {
		t.Fatalf("after reopen: %+v, %v", l, err)
	}
}

func TestOpenUnwritablePath(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x.db"), sqlite.Options{})
	if err == nil {
		t.Fatal("opening a database in a missing directory succeeded")
	}
}
