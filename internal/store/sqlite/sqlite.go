// Package sqlite is the SQLite implementation of links.Store, on the pure-Go
// driver modernc.org/sqlite so that CGO_ENABLED=0 builds static binaries.
//
// SQLite allows one writer at a time, so writes go through a pool of one
// connection (no "database is locked" under concurrent writes) while reads
// use their own pool; WAL lets the two proceed together.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune the connection pools.
type Options struct {
	MaxOpenConns    int // readers; the writer pool always has one
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// Store is a links.Store on one SQLite file.
type Store struct {
	path       string
	rd         *sql.DB
	wr         *sql.DB
	fullClicks *sql.Stmt // addClicks for a full chunk, prepared at Open
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if path == "" {
		return nil, links.Errorf(links.Invalid, "sqlite: empty database path")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Statement journals (every upsert of an import writes one) and
	// temporary indexes stay in memory: an import of 1M links otherwise
	// spends a third of its CPU in write(2) to a temp file.
	q.Add("_pragma", "temp_store(memory)")
	q.Add("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	wr, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	wr.SetMaxOpenConns(1)
	wr.SetMaxIdleConns(1)
	wr.SetConnMaxLifetime(opt.ConnMaxLifetime)
	// Migrate before the reader pool exists, so that it sees WAL mode.
	if err := migrate(ctx, wr); err != nil {
		wr.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	rd, err := sql.Open("sqlite", dsn)
	if err != nil {
		wr.Close()
		return nil, err
	}
	if opt.MaxOpenConns > 0 {
		rd.SetMaxOpenConns(opt.MaxOpenConns)
	}
	rd.SetMaxIdleConns(opt.MaxIdleConns)
	rd.SetConnMaxLifetime(opt.ConnMaxLifetime)
	// Prepared now, while no transaction holds the one writer connection
	// (a transaction's StmtContext then uses it on that connection).
	fullClicks, err := wr.PrepareContext(ctx, clicksSQL(clickChunk))
	if err != nil {
		rd.Close()
		wr.Close()
		return nil, wrap(err)
	}
	return &Store{path: path, rd: rd, wr: wr, fullClicks: fullClicks}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// DB returns the reader pool, for pool metrics.
func (s *Store) DB() *sql.DB { return s.rd }

func (s *Store) Close() error {
	return errors.Join(s.fullClicks.Close(), s.rd.Close(), s.wr.Close())
}

func (s *Store) Ping(ctx context.Context) error {
	if err := s.rd.PingContext(ctx); err != nil {
		return wrap(err)
	}
	return nil
}

func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := s.rd.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v.Int64, wrap(err)
}

func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.rd.QueryRowContext(ctx, `SELECT version FROM link_set_version WHERE id = 1`).Scan(&v)
	return v, wrap(err)
}

const columns = sqlstore.Columns

type scanner = sqlstore.Scanner

func scan(r scanner) (links.Link, error) {
	var l links.Link
	var last sql.NullInt64
	var created, updated int64
	err := r.Scan(&l.Key, &l.Name, &l.URL, &l.Description, &l.Owner, &l.Clicks, &last, &created, &updated)
	if err != nil {
		return l, err
	}
	if last.Valid {
		l.LastClickedAt = fromMicros(last.Int64)
	}
	l.CreatedAt, l.UpdatedAt = fromMicros(created), fromMicros(updated)
	return l, nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func (s *Store) Get(ctx context.Context, key string) (links.Link, error) {
	l, err := scan(s.rd.QueryRowContext(ctx, `SELECT `+columns+` FROM links WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return l, links.Errorf(links.NotFound, "link %q not found", key)
	}
	return l, wrap(err)
}

func (s *Store) List(ctx context.Context, opt links.ListOptions) ([]links.Link, error) {
	return dialect.List(ctx, s.rd, opt)
}

func (s *Store) Each(ctx context.Context, fn func(links.Link) error) error {
	return dialect.Each(ctx, s.rd, fn)
}

func (s *Store) Targets(ctx context.Context, fn func(key, url string) error) error {
	return dialect.Targets(ctx, s.rd, fn)
}

var dialect = sqlstore.Dialect{Placeholder: func(int) string { return "?" }, Scan: scan, Wrap: wrap}

// Create, Update and Delete each run in one transaction that also reads
// the link-set version the change's trigger set (the writer pool has one
// connection, so nothing commits in between).
func (s *Store) Create(ctx context.Context, l links.Link) (links.Link, int64, error) {
	return s.write(ctx, func(tx *sql.Tx) (links.Link, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO links (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.Key, l.Name, l.URL, l.Description, l.Owner, l.Clicks, nullMicros(l.LastClickedAt), micros(l.CreatedAt), micros(l.UpdatedAt))
		if isConstraint(err) {
			return l, links.Errorf(links.Conflict, "link %q already exists", l.Name)
		}
		if err != nil {
			return l, err
		}
		return scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM links WHERE key = ?`, l.Key))
	})
}

func (s *Store) Update(ctx context.Context, key string, l links.Link) (links.Link, int64, error) {
	return s.write(ctx, func(tx *sql.Tx) (links.Link, error) {
		res, err := tx.ExecContext(ctx, `UPDATE links SET key = ?, name = ?, url = ?, description = ?, owner = ?, updated_at = ? WHERE key = ?`,
			l.Key, l.Name, l.URL, l.Description, l.Owner, micros(l.UpdatedAt), key)
		if isConstraint(err) {
			return l, links.Errorf(links.Conflict, "link %q already exists", l.Name)
		}
		if err != nil {
			return l, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return l, links.Errorf(links.NotFound, "link %q not found", key)
		}
		return scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM links WHERE key = ?`, l.Key))
	})
}

func (s *Store) Delete(ctx context.Context, key string) (int64, error) {
	_, v, err := s.write(ctx, func(tx *sql.Tx) (links.Link, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM links WHERE key = ?`, key)
		if err != nil {
			return links.Link{}, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return links.Link{}, links.Errorf(links.NotFound, "link %q not found", key)
		}
		return links.Link{}, nil
	})
	return v, err
}

func (s *Store) write(ctx context.Context, fn func(*sql.Tx) (links.Link, error)) (links.Link, int64, error) {
	return dialect.Write(ctx, s.wr, fn)
}

func (s *Store) Import(ctx context.Context, ls iter.Seq2[links.Link, error]) error {
	tx, err := s.wr.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO links (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET name = excluded.name, url = excluded.url, description = excluded.description,
		owner = excluded.owner, clicks = excluded.clicks, last_clicked_at = excluded.last_clicked_at,
		created_at = excluded.created_at, updated_at = excluded.updated_at`)
	if err != nil {
		return wrap(err)
	}
	defer stmt.Close()
	for l, err := range ls {
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, l.Key, l.Name, l.URL, l.Description, l.Owner, l.Clicks,
			nullMicros(l.LastClickedAt), micros(l.CreatedAt), micros(l.UpdatedAt)); err != nil {
			return wrap(err)
		}
	}
	return wrap(tx.Commit())
}

// clickChunk bounds the variables of one statement (SQLite allows 32766).
const clickChunk = 1000

// AddClicks writes the batch in one transaction, in statements of
// clickChunk rows. (The flusher sends batches sorted by key, so that the
// updates walk the primary key's pages in order.)
func (s *Store) AddClicks(ctx context.Context, cs []links.Click) error {
	cs = links.MergeClicks(cs)
	if len(cs) == 0 {
		return nil
	}
	tx, err := s.wr.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	for len(cs) > 0 {
		n := min(len(cs), clickChunk)
		if err := s.addClicks(ctx, tx, cs[:n]); err != nil {
			return err
		}
		cs = cs[n:]
	}
	return wrap(tx.Commit())
}

// addClicks adds every count in one UPDATE ... FROM: an atomic increment,
// never read-modify-write. A full chunk (what every batch of a large
// flush is) runs a statement prepared once: parsing its 3,000 parameters
// anew cost a sixth of a flush's CPU.
func (s *Store) addClicks(ctx context.Context, tx *sql.Tx, cs []links.Click) error {
	args := make([]any, 0, 3*len(cs))
	for _, c := range cs {
		args = append(args, c.Key, c.N, micros(c.Last))
	}
	if len(cs) == clickChunk {
		_, err := tx.StmtContext(ctx, s.fullClicks).ExecContext(ctx, args...)
		return wrap(err)
	}
	_, err := tx.ExecContext(ctx, clicksSQL(len(cs)), args...)
	return wrap(err)
}

// clicksSQL is the click update for n rows of (key, n, at).
func clicksSQL(n int) string {
	var b strings.Builder
	b.WriteString(`WITH v(key, n, at) AS (VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
	}
	b.WriteString(`) UPDATE links SET clicks = links.clicks + v.n,
		last_clicked_at = max(coalesce(links.last_clicked_at, 0), v.at)
		FROM v WHERE links.key = v.key`)
	return b.String()
}

func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// wrap classifies driver errors: a busy or unopenable database is
// Unavailable; anything else Internal.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var le *links.Error
	if errors.As(err, &le) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return links.Wrap(err, links.Unavailable, "database did not answer in time")
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return links.Wrap(err, links.Unavailable, "database unavailable")
		}
	}
	return links.Wrap(err, links.Internal, "database error")
}
