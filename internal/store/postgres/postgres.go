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
	// Log receives the listener's connection events, and one line per
	// row skipped as unreadable; nil discards them.
	Log *slog.Logger
	// ReadOnly applies no migrations (export from a read-only standby).
	ReadOnly bool
}

// Store is a links.Store on one PostgreSQL database.
type Store struct {
	db      *sql.DB
	cfg     *pgx.ConnConfig // the listener opens its own connection from it
	log     *slog.Logger
	dialect sqlstore.Dialect
	skipped atomic.Int64

	// Listener timing; tests shorten them.
	minBackoff, maxBackoff time.Duration
	idlePing               time.Duration
	listening              atomic.Bool

	sqlstore.TokenSQL
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
	// Ping every pooled connection before reusing it. pgx's default pings
	// only after 1 s idle, so after a fast restart or a failover each
	// connection used within the last second failed one request with
	// SQLSTATE 57P01 before the pool dropped it. The pool serves only
	// edits, click flushes and resyncs, never redirects: the extra round
	// trip is cheap there.
	db := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return true }))
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
	s.dialect = sqlstore.Dialect{
		Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
		Scan:        scan,
		Wrap:        wrap,
		Skip:        sqlstore.Skipper(&s.skipped, log),
		Time:        func(t time.Time) any { return t.UTC() },
		TimeDest: func() (any, func() time.Time) {
			var t time.Time
			return &t, func() time.Time { return t.UTC() }
		},
		Epoch: `'epoch'::timestamptz`,
		Lock:  " FOR UPDATE",
	}
	s.TokenSQL = tokenSQL(db, s.dialect.Placeholder)
	if opt.ReadOnly {
		return s, nil
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

// RowsSkipped is the number of rows List and Each left out because they
// could not be read.
func (s *Store) RowsSkipped() int64 { return s.skipped.Load() }

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
	err := r.Scan(&l.Key, &l.Name, &l.URL, &l.Description, &l.Owner, sqlstore.ClickCount{N: &l.Clicks}, &last, &l.CreatedAt, &l.UpdatedAt, &l.ID, &l.Version, &l.Tags, &l.AliasOf, &l.AliasURL)
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
	l, err := get(ctx, s.db, key, "")
	if err != nil {
		return l, err
	}
	l.Aliases, err = s.dialect.AliasesOf(ctx, s.db, l.ID, 0)
	return l, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// get reads the link under key; lock is "" or a locking clause.
func get(ctx context.Context, q querier, key, lock string) (links.Link, error) {
	l, err := scan(q.QueryRowContext(ctx, `SELECT `+sqlstore.ReadColumns+` FROM links WHERE key = $1`+lock, key))
	if errors.Is(err, sql.ErrNoRows) {
		return l, links.Errorf(links.NotFound, "link %q not found", key)
	}
	return l, wrap(err)
}

func (s *Store) List(ctx context.Context, opt links.ListOptions) ([]links.Link, error) {
	return s.dialect.List(ctx, s.db, opt)
}

func (s *Store) Count(ctx context.Context, opt links.ListOptions) (int, error) {
	return s.dialect.Count(ctx, s.db, opt)
}

func (s *Store) Each(ctx context.Context, fn func(links.Link) error) error {
	return s.dialect.Each(ctx, s.db, fn)
}

func (s *Store) Targets(ctx context.Context, fn func(key, url string) error) error {
	return s.dialect.Targets(ctx, s.db, fn)
}

func (s *Store) Changes(ctx context.Context, q links.ChangeQuery) ([]links.Change, error) {
	return s.dialect.Changes(ctx, s.db, q)
}

func (s *Store) Deleted(ctx context.Context, q links.DeletedQuery) ([]links.Change, error) {
	return s.dialect.Deleted(ctx, s.db, q)
}

func (s *Store) PruneHistory(ctx context.Context, before time.Time) (int64, error) {
	return s.dialect.PruneHistory(ctx, s.db, before)
}

// Create, Update and Delete each read, in their transaction, the link-set
// version their change's trigger set: the trigger's update holds that
// row's lock until the commit, so the version read is the one this change
// committed as.
func (s *Store) Create(ctx context.Context, l links.Link) (links.Link, int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return l, 0, wrap(err)
	}
	defer tx.Rollback()
	target, err := s.dialect.AliasTarget(ctx, tx, l, l.ID)
	if err != nil {
		return l, 0, err
	}
	// A new link takes the next ID; a restored one (ID set) keeps its own.
	got, err := scan(tx.QueryRowContext(ctx,
		`INSERT INTO links (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, nextval('link_ids')), $11, $12)
		RETURNING `+sqlstore.ReadColumns,
		l.Key, l.Name, l.URL, l.Description, l.Owner, l.Clicks, nullTime(l.LastClickedAt), l.CreatedAt, l.UpdatedAt,
		sql.NullInt64{Int64: l.ID, Valid: l.ID != 0}, max(l.Version, 1), l.Tags))
	if isUniqueViolation(err) {
		return l, 0, links.Wrap(err, links.Conflict, fmt.Sprintf("link %q already exists", l.Name))
	}
	if err != nil {
		return l, 0, wrap(err)
	}
	if target.Valid {
		if err := s.dialect.SetAliasOf(ctx, tx, got.ID, target); err != nil {
			return l, 0, err
		}
		if got, err = get(ctx, tx, got.Key, ""); err != nil {
			return l, 0, err
		}
	}
	if err := s.dialect.InsertChange(ctx, tx, sqlstore.ChangeOf(ctx, nil, &got, links.ActionCreate, got.UpdatedAt)); err != nil {
		return l, 0, err
	}
	v, err := s.dialect.Commit(ctx, tx)
	return got, v, err
}

func (s *Store) Update(ctx context.Context, key string, l links.Link) (links.Link, int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return l, 0, wrap(err)
	}
	defer tx.Rollback()
	before, err := get(ctx, tx, key, " FOR UPDATE")
	if err != nil {
		return l, 0, err
	}
	target, err := s.dialect.AliasTarget(ctx, tx, l, before.ID)
	if err != nil {
		return l, 0, err
	}
	cond, margs := s.dialect.MatchCond(8, sqlstore.MatchOf(l))
	_, err = scan(tx.QueryRowContext(ctx,
		`UPDATE links SET key = $1, name = $2, url = $3, description = $4, owner = $5, tags = $6, updated_at = $7,
		version = version + 1 WHERE key = $8`+cond+` RETURNING `+columns+`, '', ''`,
		append([]any{l.Key, l.Name, l.URL, l.Description, l.Owner, l.Tags, l.UpdatedAt, key}, margs...)...))
	switch {
	case isUniqueViolation(err):
		return l, 0, links.Wrap(err, links.Conflict, fmt.Sprintf("link %q already exists", l.Name))
	case errors.Is(err, sql.ErrNoRows):
		return l, 0, sqlstore.Stale(before)
	case err != nil:
		return l, 0, wrap(err)
	}
	if err := s.dialect.SetAliasOf(ctx, tx, before.ID, target); err != nil {
		return l, 0, err
	}
	got, err := get(ctx, tx, l.Key, "")
	if err != nil {
		return l, 0, err
	}
	if err := s.dialect.InsertChange(ctx, tx, sqlstore.UpdateChange(ctx, before, got)); err != nil {
		return l, 0, err
	}
	v, err := s.dialect.Commit(ctx, tx)
	return got, v, err
}

func (s *Store) Delete(ctx context.Context, key string, match ...links.Rev) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap(err)
	}
	defer tx.Rollback()
	before, err := get(ctx, tx, key, " FOR UPDATE")
	if err != nil {
		return 0, err
	}
	if err := s.dialect.RefuseAliased(ctx, tx, before); err != nil {
		return 0, err
	}
	cond, margs := s.dialect.MatchCond(1, match)
	res, err := tx.ExecContext(ctx, `DELETE FROM links WHERE key = $1`+cond, append([]any{key}, margs...)...)
	if err != nil {
		return 0, wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, sqlstore.Stale(before)
	}
	if err := s.dialect.InsertChange(ctx, tx, sqlstore.ChangeOf(ctx, &before, nil, links.ActionDelete, sqlstore.EditTime(ctx))); err != nil {
		return 0, err
	}
	return s.dialect.Commit(ctx, tx)
}

// importChunk bounds the rows of one upsert statement.
const importChunk = 1000

// Import upserts ls in one transaction, streaming: importChunk links per
// statement as they arrive. It announces itself with one "resync"
// notification rather than one per link. Per chunk it reads the stored
// links (locked), writes only those that differ, and records a history
// entry (and a new version) for each whose recorded fields change. An
// error from ls rolls everything back.
func (s *Store) Import(ctx context.Context, ls iter.Seq2[links.Link, error], opt links.ImportOptions) error {
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
	at := sqlstore.EditTime(ctx)
	// One row per key in a statement (the last wins): an upsert may not
	// touch a row twice.
	rows := make([]links.Link, 0, importChunk)
	seen := make(map[string]int, importChunk)
	var aliases []sqlstore.ImportedAlias
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		err := importRows(ctx, tx, rows, at, opt, &aliases)
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
		if rows = append(rows, l); len(rows) == importChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := s.dialect.SetImportedAliases(ctx, tx, aliases); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, Channel); err != nil {
		return wrap(err)
	}
	return wrap(tx.Commit())
}

func importRows(ctx context.Context, tx *sql.Tx, ls []links.Link, at time.Time, opt links.ImportOptions, aliases *[]sqlstore.ImportedAlias) error {
	keys := make([]string, len(ls))
	for i, l := range ls {
		keys[i] = l.Key
	}
	old := make(map[string]links.Link, len(ls))
	err := func() error {
		rs, err := tx.QueryContext(ctx, `SELECT `+sqlstore.ReadColumns+` FROM links WHERE key = ANY($1) FOR UPDATE`, keys)
		if err != nil {
			return wrap(err)
		}
		defer rs.Close()
		for rs.Next() {
			l, err := scan(rs)
			if err != nil {
				return wrap(err)
			}
			old[l.Key] = l
		}
		return wrap(rs.Err())
	}()
	if err != nil {
		return err
	}
	// What to write, and which of those are changes for the history.
	var write []links.Link
	changed := map[string]bool{}
	aliasOf := map[string]string{} // what the lines say: the upsert leaves alias_of alone
	for _, l := range ls {
		before, found := old[l.Key]
		if found {
			l = sqlstore.Imported(before, l, opt)
		}
		switch {
		case !found:
			l.ID, l.Version = 0, 1
			changed[l.Key] = true
		case links.SameValues(before, l) && links.SameCounts(before, l):
			continue
		default:
			l.ID, l.Version = before.ID, before.Version
			if !links.SameValues(before, l) {
				l.Version++
				changed[l.Key] = true
			}
		}
		if l.IsAlias() || (found && before.IsAlias()) {
			*aliases = append(*aliases, sqlstore.ImportedAlias{Key: l.Key, Target: l.AliasOf})
			aliasOf[l.Key] = l.AliasOf
		}
		write = append(write, l)
	}
	if len(write) == 0 {
		return nil
	}
	n := len(write)
	var (
		ks, names, urls, descs, owners, tags = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		clicks, ids, versions                = make([]int64, n), make([]*int64, n), make([]int64, n)
		lasts                                = make([]*time.Time, n)
		created, updated                     = make([]time.Time, n), make([]time.Time, n)
	)
	for i, l := range write {
		ks[i], names[i], urls[i], descs[i], owners[i], tags[i] = l.Key, l.Name, l.URL, l.Description, l.Owner, l.Tags
		clicks[i], versions[i], created[i], updated[i] = l.Clicks, l.Version, l.CreatedAt, l.UpdatedAt
		if l.ID != 0 {
			ids[i] = &write[i].ID
		}
		if !l.LastClickedAt.IsZero() {
			lasts[i] = &write[i].LastClickedAt
		}
	}
	rs, err := tx.QueryContext(ctx, `INSERT INTO links (`+columns+`)
		SELECT key, name, url, description, owner, clicks, last_clicked_at, created_at, updated_at,
			coalesce(id, nextval('link_ids')), version, tags
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
			$7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::bigint[], $12::text[])
			AS v(key, name, url, description, owner, clicks, last_clicked_at, created_at, updated_at, id, version, tags)
		ON CONFLICT (key) DO UPDATE SET name = excluded.name, url = excluded.url, description = excluded.description,
			owner = excluded.owner, clicks = excluded.clicks, last_clicked_at = excluded.last_clicked_at,
			created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version, tags = excluded.tags
		RETURNING `+columns+`, '', ''`,
		ks, names, urls, descs, owners, clicks, lasts, created, updated, ids, versions, tags)
	if err != nil {
		return wrap(err)
	}
	var cs []links.Change
	err = func() error {
		defer rs.Close()
		for rs.Next() {
			l, err := scan(rs)
			if err != nil {
				return wrap(err)
			}
			if !changed[l.Key] {
				continue
			}
			l.AliasOf = aliasOf[l.Key]
			var before *links.Link
			if b, ok := old[l.Key]; ok {
				before = &b
			}
			cs = append(cs, sqlstore.ChangeOf(ctx, before, &l, links.ActionImport, at))
		}
		return wrap(rs.Err())
	}()
	if err != nil {
		return err
	}
	return insertChanges(ctx, tx, cs)
}

// insertChanges writes history entries in one statement.
func insertChanges(ctx context.Context, tx *sql.Tx, cs []links.Change) error {
	if len(cs) == 0 {
		return nil
	}
	n := len(cs)
	var (
		ids, versions         = make([]int64, n), make([]int64, n)
		actions, actors, keys = make([]string, n), make([]string, n), make([]string, n)
		names                 = make([]string, n)
		ats                   = make([]time.Time, n)
		olds, news            = make([]*string, n), make([]*string, n)
	)
	for i, c := range cs {
		ids[i], versions[i], actions[i], actors[i], ats[i], keys[i], names[i] = c.LinkID, c.Version, string(c.Action), c.Actor, c.At, c.Key, c.Name
		if v := sqlstore.EncodeValues(c.Before); v.Valid {
			olds[i] = &v.String
		}
		if v := sqlstore.EncodeValues(c.After); v.Valid {
			news[i] = &v.String
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO link_history (link_id, version, action, actor, at, key, name, old_values, new_values)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[])`,
		ids, versions, actions, actors, ats, keys, names, olds, news)
	return wrap(err)
}

// AddClicks adds every count in one statement (one transaction, one batch
// of a flush): an atomic increment
// (clicks = clicks + n), never read-modify-write, so flushes from any
// number of replicas add up, and the same to each link's day, by the
// update's RETURNING. Rows are locked in key order, so two replicas
// flushing overlapping sets at once wait for each other instead of
// deadlocking (a link's day row is written only under its link's lock).
func (s *Store) AddClicks(ctx context.Context, cs []links.Click) error {
	cs = links.MergeClicks(cs)
	if len(cs) == 0 {
		return nil
	}
	slices.SortFunc(cs, func(a, b links.Click) int { return cmp.Compare(a.Key, b.Key) })
	keys, ns, ats, days := make([]string, len(cs)), make([]int64, len(cs)), make([]time.Time, len(cs)), make([]int64, len(cs))
	for i, c := range cs {
		keys[i], ns[i], ats[i], days[i] = c.Key, c.N, c.Last, int64(links.DayOf(c.Last))
	}
	_, err := s.db.ExecContext(ctx, `
		WITH v AS (
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::integer[]) AS v(key, n, at, day)
		), locked AS (
			SELECT links.key FROM links JOIN v ON links.key = v.key ORDER BY links.key FOR UPDATE OF links
		), counted AS (
			UPDATE links SET clicks = `+sqlstore.SaturatedClicks+`, last_clicked_at = greatest(links.last_clicked_at, v.at)
			FROM v, locked WHERE links.key = v.key AND locked.key = v.key
			RETURNING links.id, v.day, v.n
		)
		INSERT INTO link_clicks_daily (link_id, day, clicks) SELECT id, day, n FROM counted`+sqlstore.DailyUpsert,
		keys, ns, ats, days)
	return wrap(err)
}

func (s *Store) DailyClicks(ctx context.Context, linkID int64, from, to links.Day) ([]links.DayClicks, error) {
	return s.dialect.DailyClicks(ctx, s.db, linkID, from, to)
}

func (s *Store) SetDailyClicks(ctx context.Context, cs []links.LinkDayClicks) error {
	return s.dialect.SetDailyClicks(ctx, s.db, cs)
}

func (s *Store) PruneClicks(ctx context.Context, before links.Day) (int64, error) {
	return s.dialect.PruneClicks(ctx, s.db, before)
}
