// Package store opens the links.Store that a DATABASE_URL names.
package store

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/postgres"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// Options tune the connection pool.
type Options struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	// Log receives the backend's own events (PostgreSQL: the change
	// listener's disconnects and reconnects; both: rows skipped as
	// unreadable); nil discards them.
	Log *slog.Logger
	// ReadOnly opens the database for reading only, without migrations
	// (export).
	ReadOnly bool
}

// Store is a links.Store that also exposes its pool, and the count of
// rows skipped as unreadable, for metrics.
type Store interface {
	links.Store
	links.TokenStore
	DB() *sql.DB
	RowsSkipped() int64
}

// Kind returns the backend a DATABASE_URL selects ("sqlite" or "postgres"),
// or an error that says what is accepted.
func Kind(url string) (kind, rest string, err error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return "", "", links.Errorf(links.Invalid, "DATABASE_URL %q names no file; use sqlite:PATH", url)
		}
		return "sqlite", path, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return "postgres", url, nil
	default:
		return "", "", links.Errorf(links.Invalid, "DATABASE_URL must start with sqlite: or postgres://")
	}
}

// Open opens and migrates the store that url names.
func Open(ctx context.Context, url string, opt Options) (Store, error) {
	kind, rest, err := Kind(url)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "sqlite":
		return sqlite.Open(ctx, rest, sqlite.Options{
			MaxOpenConns: opt.MaxOpenConns, MaxIdleConns: opt.MaxIdleConns, ConnMaxLifetime: opt.ConnMaxLifetime,
			ReadOnly: opt.ReadOnly, Log: opt.Log,
		})
	default:
		return postgres.Open(ctx, rest, postgres.Options{
			MaxOpenConns: opt.MaxOpenConns, MaxIdleConns: opt.MaxIdleConns, ConnMaxLifetime: opt.ConnMaxLifetime,
			Log: opt.Log, ReadOnly: opt.ReadOnly,
		})
	}
}

// Backup writes a consistent copy of the database url names to dest, while
// a server may be using it. Only SQLite is copied this way; PostgreSQL has
// pg_dump, which knows its roles, extensions and transaction snapshots.
func Backup(ctx context.Context, url, dest string) (sqlite.BackupResult, error) {
	kind, path, err := Kind(url)
	if err != nil {
		return sqlite.BackupResult{}, err
	}
	if kind != "sqlite" {
		return sqlite.BackupResult{}, links.Errorf(links.Invalid,
			"backup copies SQLite databases; for PostgreSQL use pg_dump (docs/operations.md, \"Backup and restore\"), or `signpost export` for a portable copy of the links")
	}
	return sqlite.Backup(ctx, path, dest)
}
