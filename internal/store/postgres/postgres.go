// Package postgres is the PostgreSQL implementation of links.Store, on pgx
// through its database/sql adapter (so that the pool is a *sql.DB like
// SQLite's, for the same pool settings and metrics).
//
// It is the backend for several replicas on one database: migrations run
// under an advisory lock, clicks are added with one atomic statement per
// flush, and every change of the link set sends a notification on Channel
// in its own transaction, which Listen delivers to the other replicas.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Channel is the LISTEN/NOTIFY channel. Each notification carries one
// changed key; an empty payload means "many changed: resync".
const Channel = "signpost_links"

// migrationLockID is the advisory lock that serialises migrations of
// replicas starting together (goose's default id, named here).
const migrationLockID = lock.DefaultLockID

// Options tune the connection pool and the listener.
type Options struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	// Log receives the listener's connection events; nil discards them.
	Log *slog.Logger
}

// Store is a links.Store on one PostgreSQL database.
type Store struct {
	db  *sql.DB
	cfg *pgx.ConnConfig // the listener opens its own connection from it
	log *slog.Logger

	// Listener timing; tests shorten them.
	minBackoff, maxBackoff time.Duration
	idlePing               time.Duration
	listening              atomic.Bool
}

// defaultConnectTimeout applies when the URL sets no connect_timeout, so
// that an unreachable host fails a request instead of hanging it.
const defaultConnectTimeout = 5 * time.Second

// Open connects to the database that url names (postgres:// or
// postgresql://) and applies pending migrations under an advisory lock, so
// that replicas starting at the same moment migrate one after another.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, links.Wrap(err, links.Invalid, "DATABASE_URL is not a valid PostgreSQL URL")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "signpost"
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db := stdlib.OpenDB(*cfg)
	if opt.MaxOpenConns > 0 {
		db.SetMaxOpenConns(opt.MaxOpenConns)
	}
	db.SetMaxIdleConns(opt.MaxIdleConns)
	db.SetConnMaxLifetime(opt.ConnMaxLifetime)
	s := &Store{
		db: db, cfg: cfg, log: log,
		minBackoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second,
		idlePing: 30 * time.Second,
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		if ctx.Err() != nil { // stopped (a signal during start-up), not failed
			return nil, links.Wrap(ctx.Err(), links.Unavailable,
				fmt.Sprintf("PostgreSQL %s:%d/%s: migration stopped before it was done", cfg.Host, cfg.Port, cfg.Database))
		}
		// Say where and why: this is what an operator sees when serve or a
		// CLI command cannot start (the cause carries no password).
		return nil, links.Wrap(err, links.ErrorCode(err),
			fmt.Sprintf("PostgreSQL %s:%d/%s: %v", cfg.Host, cfg.Port, cfg.Database, err))
	}
	return s, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Retry the lock every second for up to five minutes: a replica waits
	// while another one migrates.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return wrapMsg(err, "migrate")
	}
	return nil
}

// DB returns the pool, for pool metrics.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) Close() error { return s.db.Close() }

func (s *Store) Ping(ctx context.Context) error {
	return wrap(s.db.PingContext(ctx))
}

func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v.Int64, wrap(err)
}

func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM link_set_version WHERE id = 1`).Scan(&v)
	return v, wrap(err)
}

const columns = sqlstore.Columns

type scanner = sqlstore.Scanner

func scan(r scanner) (links.Link, error) {
	var l links.Link
	var last sql.NullTime
	err := r.Scan(&l.Key, &l.Name, &l.URL, &l.Description, &l.Owner, &l.Clicks, &last, &l.CreatedAt, &l.UpdatedAt)
	if err != nil {
		return l, err
	}
	if last.Valid {
		l.LastClickedAt = last.Time.UTC()
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, nil
}

func nullTime(t time.Time) sql.NullTime {
	return sql.NullTime{Time: t, Valid: !t.IsZero()}
}

func (s *Store) Get(ctx context.Context, key string) (links.Link, error) {
	l, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM links WHERE key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return l, links.Errorf(links.NotFound, "link %q not found", key)
	}
	return l, wrap(err)
}

func (s *Store) List(ctx context.Context, opt links.ListOptions) ([]links.Link, error) {
	return dialect.List(ctx, s.db, opt)
}

func (s *Store) Each(ctx context.Context, fn func(links.Link) error) error {
	return dialect.Each(ctx, s.db, fn)
}

func (s *Store) Targets(ctx context.Context, fn func(key, url string) error) error {
	return dialect.Targets(ctx, s.db, fn)
}

var dialect = sqlstore.Dialect{Placeholder: func(n int) string { return "$" + strconv.Itoa(n) }, Scan: scan, Wrap: wrap}

// Create, Update and Delete each run in one transaction that also reads
// the link-set version the change's trigger set: the trigger's update
// holds that row's lock until the commit, so the version read is the one
// this change committed as.
func (s *Store) Create(ctx context.Context, l links.Link) (links.Link, int64, error) {
	return s.write(ctx, func(tx *sql.Tx) (links.Link, error) {
		got, err := scan(tx.QueryRowContext(ctx,
			`INSERT INTO links (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+columns,
			l.Key, l.Name, l.URL, l.Description, l.Owner, l.Clicks, nullTime(l.LastClickedAt), l.CreatedAt, l.UpdatedAt))
		if isUniqueViolation(err) {
			return l, links.Wrap(err, links.Conflict, fmt.Sprintf("link %q already exists", l.Name))
		}
		return got, err
	})
}

func (s *Store) Update(ctx context.Context, key string, l links.Link) (links.Link, int64, error) {
	return s.write(ctx, func(tx *sql.Tx) (links.Link, error) {
		got, err := scan(tx.QueryRowContext(ctx,
			`UPDATE links SET key = $1, name = $2, url = $3, description = $4, owner = $5, updated_at = $6
			WHERE key = $7 RETURNING `+columns,
			l.Key, l.Name, l.URL, l.Description, l.Owner, l.UpdatedAt, key))
		switch {
		case isUniqueViolation(err):
			return l, links.Wrap(err, links.Conflict, fmt.Sprintf("link %q already exists", l.Name))
		case errors.Is(err, sql.ErrNoRows):
			return l, links.Errorf(links.NotFound, "link %q not found", key)
		}
		return got, err
	})
}

func (s *Store) Delete(ctx context.Context, key string) (int64, error) {
	_, v, err := s.write(ctx, func(tx *sql.Tx) (links.Link, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM links WHERE key = $1`, key)
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
	return dialect.Write(ctx, s.db, fn)
}

// importChunk bounds the rows of one upsert statement.
const importChunk = 1000

// Import upserts ls in one transaction, importChunk rows per statement as
// they arrive. It announces itself with one "resync" notification rather
// than one per link.
func (s *Store) Import(ctx context.Context, ls iter.Seq2[links.Link, error]) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	// Taking the counter row first serialises imports (no deadlock between
	// two imports of overlapping sets) and tells the trigger not to send a
	// notification per row.
	if _, err := tx.ExecContext(ctx, `SELECT set_config('signpost.bulk', 'on', true)`); err != nil {
		return wrap(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE link_set_version SET version = version + 1 WHERE id = 1`); err != nil {
		return wrap(err)
	}
	// One row per key in a statement (the last wins): an upsert may not
	// touch a row twice.
	rows := make([]links.Link, 0, importChunk)
	seen := make(map[string]int, importChunk)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		err := importRows(ctx, tx, rows)
		rows = rows[:0]
		clear(seen)
		return err
	}
	for l, err := range ls {
		if err != nil {
			return err
		}
		if i, ok := seen[l.Key]; ok {
			rows[i] = l
			continue
		}
		seen[l.Key] = len(rows)
		rows = append(rows, l)
		if len(rows) == importChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, Channel); err != nil {
		return wrap(err)
	}
	return wrap(tx.Commit())
}

func importRows(ctx context.Context, tx *sql.Tx, ls []links.Link) error {
	n := len(ls)
	var (
		keys, names, urls, descs, owners = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		clicks                           = make([]int64, n)
		lasts                            = make([]*time.Time, n)
		created, updated                 = make([]time.Time, n), make([]time.Time, n)
	)
	for i, l := range ls {
		keys[i], names[i], urls[i], descs[i], owners[i] = l.Key, l.Name, l.URL, l.Description, l.Owner
		clicks[i], created[i], updated[i] = l.Clicks, l.CreatedAt, l.UpdatedAt
		if !l.LastClickedAt.IsZero() {
			lasts[i] = &ls[i].LastClickedAt
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO links (`+columns+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
			$7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
		ON CONFLICT (key) DO UPDATE SET name = excluded.name, url = excluded.url, description = excluded.description,
			owner = excluded.owner, clicks = excluded.clicks, last_clicked_at = excluded.last_clicked_at,
			created_at = excluded.created_at, updated_at = excluded.updated_at`,
		keys, names, urls, descs, owners, clicks, lasts, created, updated)
	return wrap(err)
}

// AddClicks adds every count in one statement, in its own transaction
// (one batch of a flush): an atomic increment (clicks = clicks + n),
// never read-modify-write, so flushes from any number of replicas add up.
// Rows are locked in key order, so two replicas flushing overlapping sets
// at once wait for each other instead of deadlocking.
func (s *Store) AddClicks(ctx context.Context, cs []links.Click) error {
	cs = links.MergeClicks(cs)
	if len(cs) == 0 {
		return nil
	}
	slices.SortFunc(cs, func(a, b links.Click) int { return cmp.Compare(a.Key, b.Key) })
	keys, ns, ats := make([]string, len(cs)), make([]int64, len(cs)), make([]time.Time, len(cs))
	for i, c := range cs {
		keys[i], ns[i], ats[i] = c.Key, c.N, c.Last
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `
		WITH v AS (
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS v(key, n, at)
		), locked AS (
			SELECT links.key FROM links JOIN v ON links.key = v.key ORDER BY links.key FOR UPDATE OF links
		)
		UPDATE links SET clicks = links.clicks + v.n, last_clicked_at = greatest(links.last_clicked_at, v.at)
		FROM v, locked WHERE links.key = v.key AND locked.key = v.key`,
		keys, ns, ats)
	if err != nil {
		return wrap(err)
	}
	return wrap(tx.Commit())
}
