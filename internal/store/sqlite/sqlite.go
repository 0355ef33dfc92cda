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
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
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
	// ReadOnly opens the file read-only and applies no migrations (export
	// of a file the process may not write); every write then fails.
	ReadOnly bool
	// Log receives one line per row skipped as unreadable; nil discards.
	Log *slog.Logger
}

// Store is a links.Store on one SQLite file.
type Store struct {
	path    string
	rd      *sql.DB
	wr      *sql.DB
	dialect sqlstore.Dialect
	skipped atomic.Int64
	sqlstore.TokenSQL
	// fullClicks and fullDaily are addClicks' statements for a full
	// chunk, prepared at Open (nil when read-only).
	fullClicks, fullDaily *sql.Stmt
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
	if opt.ReadOnly {
		var err error
		if dsn, err = readOnlyDSN(ctx, path); err != nil {
			return nil, links.Wrap(err, links.ErrorCode(err), fmt.Sprintf("sqlite %s: %s", path, links.ErrorMessage(err)))
		}
	}

	wr, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	wr.SetMaxOpenConns(1)
	wr.SetMaxIdleConns(1)
	wr.SetConnMaxLifetime(opt.ConnMaxLifetime)
	// Migrate before the reader pool exists, so that it sees WAL mode.
	if opt.ReadOnly {
		err = checkSchema(ctx, wr)
	} else {
		err = migrate(ctx, wr)
	}
	if err != nil {
		wr.Close()
		return nil, links.Wrap(err, links.ErrorCode(err), fmt.Sprintf("sqlite %s: %s", path, err))
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
	s := &Store{path: path, rd: rd, wr: wr}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.dialect = sqlstore.Dialect{
		Placeholder: func(int) string { return "?" },
		Scan:        scan,
		Wrap:        wrap,
		Skip:        sqlstore.Skipper(&s.skipped, log),
		Time:        func(t time.Time) any { return micros(t) },
		TimeDest: func() (any, func() time.Time) {
			var us int64
			return &us, func() time.Time { return fromMicros(us) }
		},
		Epoch: "0",
	}
	s.TokenSQL = tokenSQL(rd, wr, s.dialect.Placeholder)
	if !opt.ReadOnly {
		// Prepared now, while no transaction holds the one writer
		// connection (a transaction's StmtContext then uses it on that
		// connection).
		if s.fullClicks, err = wr.PrepareContext(ctx, clicksSQL(clickChunk)); err == nil {
			s.fullDaily, err = wr.PrepareContext(ctx, dailySQL(clickChunk))
		}
		if err != nil {
			s.Close()
			return nil, wrap(err)
		}
	}
	return s, nil
}

// readOnlyDSN returns how to read the file at path without writing
// anything. mode=ro reads a WAL database through its -shm file, which
// SQLite creates when it is missing; where that cannot be done (a
// directory this process may not write) and no -wal file exists (so no
// writer holds changes outside the file), the file is read as immutable.
func readOnlyDSN(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", links.Wrap(err, links.Unavailable, "cannot read the database file: "+err.Error())
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("mode", "ro")
	dsn := "file:" + path + "?" + q.Encode()
	err := probe(ctx, dsn)
	var e *sqlite.Error
	if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_READONLY && e.Code()&0xff != sqlite3.SQLITE_CANTOPEN {
		return dsn, wrap(err)
	}
	if _, serr := os.Stat(path + "-wal"); !errors.Is(serr, fs.ErrNotExist) {
		return "", wrap(err)
	}
	q.Set("immutable", "1")
	dsn = "file:" + path + "?" + q.Encode()
	return dsn, wrap(probe(ctx, dsn))
}

func probe(ctx context.Context, dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	return db.QueryRowContext(ctx, `SELECT count(*) FROM links`).Scan(&n)
}

// checkSchema tells a read-only open of a file that is not a Signpost
// database (or not one yet) from a working one.
func checkSchema(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM links`).Scan(&n); err != nil {
		return wrap(err)
	}
	return nil
}

// RowsSkipped is the number of rows List and Each left out because they
// could not be read.
func (s *Store) RowsSkipped() int64 { return s.skipped.Load() }

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
	var errs []error
	for _, st := range []*sql.Stmt{s.fullClicks, s.fullDaily} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(append(errs, s.rd.Close(), s.wr.Close())...)
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
	err := r.Scan(&l.Key, &l.Name, &l.URL, &l.Description, &l.Owner, sqlstore.ClickCount{N: &l.Clicks}, &last, &created, &updated, &l.ID, &l.Version, &l.Tags, &l.AliasOf, &l.AliasURL)
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
	l, err := get(ctx, s.rd, key)
	if err != nil {
		return l, err
	}
	l.Aliases, err = s.dialect.AliasesOf(ctx, s.rd, l.ID, 0)
	return l, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func get(ctx context.Context, q querier, key string) (links.Link, error) {
	l, err := scan(q.QueryRowContext(ctx, `SELECT `+sqlstore.ReadColumns+` FROM links WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return l, links.Errorf(links.NotFound, "link %q not found", key)
	}
	return l, wrap(err)
}

func (s *Store) List(ctx context.Context, opt links.ListOptions) ([]links.Link, error) {
	return s.dialect.List(ctx, s.rd, opt)
}

func (s *Store) Count(ctx context.Context, opt links.ListOptions) (int, error) {
	return s.dialect.Count(ctx, s.rd, opt)
}

func (s *Store) Each(ctx context.Context, fn func(links.Link) error) error {
	return s.dialect.Each(ctx, s.rd, fn)
}

func (s *Store) Targets(ctx context.Context, fn func(key, url string) error) error {
	return s.dialect.Targets(ctx, s.rd, fn)
}

func (s *Store) Changes(ctx context.Context, q links.ChangeQuery) ([]links.Change, error) {
	return s.dialect.Changes(ctx, s.rd, q)
}

func (s *Store) Deleted(ctx context.Context, q links.DeletedQuery) ([]links.Change, error) {
	return s.dialect.Deleted(ctx, s.rd, q)
}

func (s *Store) PruneHistory(ctx context.Context, before time.Time) (int64, error) {
	return s.dialect.PruneHistory(ctx, s.wr, before)
}

const insertLink = `INSERT INTO links (` + columns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func insertArgs(l links.Link) []any {
	return []any{l.Key, l.Name, l.URL, l.Description, l.Owner, l.Clicks, nullMicros(l.LastClickedAt),
		micros(l.CreatedAt), micros(l.UpdatedAt), l.ID, l.Version, l.Tags}
}

// Each write is one transaction on the writer connection, bounded by its
// context (the BEGIN IMMEDIATE's wait for the lock included): the link's
// row, its ID and its history entry commit together or not at all. The
// driver reports exactly whether a COMMIT took effect (one that its context
// stopped is rolled back, and says so), and what a write returns is read in
// its transaction, before the commit: no read after a commit can turn a
// committed write into a reported failure. So is the link-set version the
// change's trigger set, which Create, Update and Delete return (the writer
// pool has one connection: nothing else commits in between).

// nextID gives out a link ID, in the writer's transaction.
func nextID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `UPDATE link_ids SET last = last + 1 WHERE id = 1 RETURNING last`).Scan(&id)
	return id, wrap(err)
}

func (s *Store) Create(ctx context.Context, l links.Link) (links.Link, int64, error) {
	tx, err := s.wr.BeginTx(ctx, nil)
	if err != nil {
		return l, 0, wrap(err)
	}
	defer tx.Rollback()
	if l.ID == 0 {
		if l.ID, err = nextID(ctx, tx); err != nil {
			return l, 0, err
		}
		l.Version = 1
	}
	l.Version = max(l.Version, 1)
	target, err := s.dialect.AliasTarget(ctx, tx, l, l.ID)
	if err != nil {
		return l, 0, err
	}
	_, err = tx.ExecContext(ctx, insertLink, insertArgs(l)...)
	if isConstraint(err) {
		return l, 0, links.Errorf(links.Conflict, "link %q already exists", l.Name)
	}
	if err != nil {
		return l, 0, wrap(err)
	}
	if target.Valid {
		if err := s.dialect.SetAliasOf(ctx, tx, l.ID, target); err != nil {
			return l, 0, err
		}
	}
	got, err := get(ctx, tx, l.Key)
	if err != nil {
		return l, 0, err
	}
	if err := s.dialect.InsertChange(ctx, tx, sqlstore.ChangeOf(ctx, nil, &got, links.ActionCreate, got.UpdatedAt)); err != nil {
		return l, 0, err
	}
	v, err := s.dialect.Commit(ctx, tx)
	return got, v, err
}

func (s *Store) Update(ctx context.Context, key string, l links.Link) (links.Link, int64, error) {
	tx, err := s.wr.BeginTx(ctx, nil)
	if err != nil {
		return l, 0, wrap(err)
	}
	defer tx.Rollback()
	before, err := get(ctx, tx, key)
	if err != nil {
		return l, 0, err
	}
	target, err := s.dialect.AliasTarget(ctx, tx, l, before.ID)
	if err != nil {
		return l, 0, err
	}
	cond, margs := s.dialect.MatchCond(8, sqlstore.MatchOf(l))
	res, err := tx.ExecContext(ctx, `UPDATE links SET key = ?, name = ?, url = ?, description = ?, owner = ?, tags = ?, updated_at = ?,
		version = version + 1 WHERE key = ?`+cond,
		append([]any{l.Key, l.Name, l.URL, l.Description, l.Owner, l.Tags, micros(l.UpdatedAt), key}, margs...)...)
	if isConstraint(err) {
		return l, 0, links.Errorf(links.Conflict, "link %q already exists", l.Name)
	}
	if err != nil {
		return l, 0, wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return l, 0, sqlstore.Stale(before)
	}
	if err := s.dialect.SetAliasOf(ctx, tx, before.ID, target); err != nil {
		return l, 0, err
	}
	got, err := get(ctx, tx, l.Key)
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
	tx, err := s.wr.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap(err)
	}
	defer tx.Rollback()
	before, err := get(ctx, tx, key)
	if err != nil {
		return 0, err
	}
	if err := s.dialect.RefuseAliased(ctx, tx, before); err != nil {
		return 0, err
	}
	cond, margs := s.dialect.MatchCond(1, match)
	res, err := tx.ExecContext(ctx, `DELETE FROM links WHERE key = ?`+cond, append([]any{key}, margs...)...)
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

// importChunk bounds the keys of one read of Import.
const importChunk = 500

// Import upserts ls in one transaction, streaming: it takes the links in
// chunks, reads the stored links of each chunk and writes only what
// differs: a link whose recorded fields change gets a new version and a
// history entry; one whose clicks or times alone change is written without
// either. An error from ls rolls everything back.
func (s *Store) Import(ctx context.Context, ls iter.Seq2[links.Link, error], opt links.ImportOptions) error {
	tx, err := s.wr.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, insertLink)
	if err != nil {
		return wrap(err)
	}
	defer ins.Close()
	upd, err := tx.PrepareContext(ctx, `UPDATE links SET name = ?, url = ?, description = ?, owner = ?, tags = ?,
		clicks = ?, last_clicked_at = ?, created_at = ?, updated_at = ?, version = ? WHERE key = ?`)
	if err != nil {
		return wrap(err)
	}
	defer upd.Close()
	// A chunk takes its new links' IDs with one statement and writes its
	// history entries with another (prepared once for a full chunk):
	// statement by statement, the IDs and the history were half of an
	// import's CPU.
	fullHist, err := tx.PrepareContext(ctx, s.dialect.ChangesSQL(importChunk))
	if err != nil {
		return wrap(err)
	}
	defer fullHist.Close()
	var cs []links.Change
	var args []any
	var aliases []sqlstore.ImportedAlias
	at := sqlstore.EditTime(ctx)
	write := func(chunk []links.Link) error {
		old, err := storedLinks(ctx, tx, chunk)
		if err != nil {
			return err
		}
		next, err := takeIDs(ctx, tx, chunk, old)
		if err != nil {
			return err
		}
		cs = cs[:0]
		for _, l := range chunk {
			before, found := old[l.Key]
			if found {
				l = sqlstore.Imported(before, l, opt)
			}
			switch {
			case !found:
				l.ID, l.Version = next, 1
				next++
				if _, err := ins.ExecContext(ctx, insertArgs(l)...); err != nil {
					return wrap(err)
				}
				cs = append(cs, sqlstore.ChangeOf(ctx, nil, &l, links.ActionImport, at))
				if l.IsAlias() {
					aliases = append(aliases, sqlstore.ImportedAlias{Key: l.Key, Target: l.AliasOf})
				}
			case links.SameValues(before, l) && links.SameCounts(before, l):
			default:
				if l.IsAlias() || before.IsAlias() {
					aliases = append(aliases, sqlstore.ImportedAlias{Key: l.Key, Target: l.AliasOf})
				}
				l.ID, l.Version = before.ID, before.Version
				content := !links.SameValues(before, l)
				if content {
					l.Version++
				}
				if _, err := upd.ExecContext(ctx, l.Name, l.URL, l.Description, l.Owner, l.Tags, l.Clicks,
					nullMicros(l.LastClickedAt), micros(l.CreatedAt), micros(l.UpdatedAt), l.Version, l.Key); err != nil {
					return wrap(err)
				}
				if content {
					cs = append(cs, sqlstore.ChangeOf(ctx, &before, &l, links.ActionImport, at))
				}
			}
			old[l.Key] = l // a key repeated in ls compares with what was just written
		}
		if len(cs) == 0 {
			return nil
		}
		args = args[:0]
		for _, c := range cs {
			args = append(args, s.dialect.ChangeArgs(c)...)
		}
		if len(cs) == importChunk {
			_, err = fullHist.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.dialect.ChangesSQL(len(cs)), args...)
		}
		return wrap(err)
	}
	chunk := make([]links.Link, 0, importChunk)
	for l, err := range ls {
		if err != nil {
			return err
		}
		if chunk = append(chunk, l); len(chunk) == importChunk {
			if err := write(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	if len(chunk) > 0 {
		if err := write(chunk); err != nil {
			return err
		}
	}
	if err := s.dialect.SetImportedAliases(ctx, tx, aliases); err != nil {
		return err
	}
	return wrap(tx.Commit())
}

// takeIDs reserves the IDs of the links of chunk that old does not have
// (each key once), in one statement, and returns the first.
func takeIDs(ctx context.Context, tx *sql.Tx, chunk []links.Link, old map[string]links.Link) (int64, error) {
	fresh := make(map[string]bool, len(chunk))
	for _, l := range chunk {
		if _, ok := old[l.Key]; !ok {
			fresh[l.Key] = true
		}
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	var last int64
	err := tx.QueryRowContext(ctx, `UPDATE link_ids SET last = last + ? WHERE id = 1 RETURNING last`, len(fresh)).Scan(&last)
	return last - int64(len(fresh)) + 1, wrap(err)
}

// storedLinks reads the stored links with the keys of ls.
func storedLinks(ctx context.Context, tx *sql.Tx, ls []links.Link) (map[string]links.Link, error) {
	args := make([]any, len(ls))
	for i, l := range ls {
		args[i] = l.Key
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlstore.ReadColumns+` FROM links WHERE key IN (?`+strings.Repeat(", ?", len(ls)-1)+`)`, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := make(map[string]links.Link, len(ls))
	for rows.Next() {
		l, err := scan(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out[l.Key] = l
	}
	return out, wrap(rows.Err())
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

// addClicks adds every count in one UPDATE ... FROM (an atomic
// increment, never read-modify-write) and to its day in one INSERT ... ON
// CONFLICT, both on the same parameters. A full chunk (what every batch
// of a large flush is) runs statements prepared once: parsing their 3,000
// parameters anew cost a sixth of a flush's CPU.
func (s *Store) addClicks(ctx context.Context, tx *sql.Tx, cs []links.Click) error {
	args := make([]any, 0, 3*len(cs))
	for _, c := range cs {
		args = append(args, c.Key, c.N, micros(c.Last))
	}
	if len(cs) == clickChunk && s.fullClicks != nil {
		if _, err := tx.StmtContext(ctx, s.fullClicks).ExecContext(ctx, args...); err != nil {
			return wrap(err)
		}
		_, err := tx.StmtContext(ctx, s.fullDaily).ExecContext(ctx, args...)
		return wrap(err)
	}
	if _, err := tx.ExecContext(ctx, clicksSQL(len(cs)), args...); err != nil {
		return wrap(err)
	}
	_, err := tx.ExecContext(ctx, dailySQL(len(cs)), args...)
	return wrap(err)
}

// clickValues is the VALUES list of n rows of (key, n, at) that both
// click statements read.
func clickValues(b *strings.Builder, n int) {
	b.WriteString(`WITH v(key, n, at) AS (VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
	}
	b.WriteString(`) `)
}

// clicksSQL is the click update for n rows of (key, n, at).
func clicksSQL(n int) string {
	var b strings.Builder
	clickValues(&b, n)
	b.WriteString(`UPDATE links SET clicks = ` + sqlstore.SaturatedClicks + `,
		last_clicked_at = max(coalesce(links.last_clicked_at, 0), v.at)
		FROM v WHERE links.key = v.key`)
	return b.String()
}

// dailySQL adds n rows of (key, n, at) to the clicks of at's UTC day
// (at is in unix microseconds; "WHERE true" is SQLite's way to tell an
// upsert's ON from a join's).
func dailySQL(n int) string {
	var b strings.Builder
	clickValues(&b, n)
	b.WriteString(`INSERT INTO link_clicks_daily (link_id, day, clicks)
		SELECT links.id, v.at / 86400000000, v.n FROM v JOIN links ON links.key = v.key WHERE true` + sqlstore.DailyUpsert)
	return b.String()
}

func (s *Store) DailyClicks(ctx context.Context, linkID int64, from, to links.Day) ([]links.DayClicks, error) {
	return s.dialect.DailyClicks(ctx, s.rd, linkID, from, to)
}

func (s *Store) SetDailyClicks(ctx context.Context, cs []links.LinkDayClicks) error {
	return s.dialect.SetDailyClicks(ctx, s.wr, cs)
}

func (s *Store) PruneClicks(ctx context.Context, before links.Day) (int64, error) {
	return s.dialect.PruneClicks(ctx, s.wr, before)
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
		case sqlite3.SQLITE_FULL:
			return links.Wrap(err, links.DiskFull, "disk full: the database cannot grow; free space on its volume")
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return links.Wrap(err, links.Unavailable, "database is busy (another process is writing); try again")
		case sqlite3.SQLITE_READONLY:
			return links.Wrap(err, links.Unavailable, "database is read-only")
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
			return links.Wrap(err, links.Unavailable, "database unavailable")
		}
	}
	return links.Wrap(err, links.Internal, "database error")
}
