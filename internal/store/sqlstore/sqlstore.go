// Package sqlstore holds the SQL that the SQLite and PostgreSQL stores
// share: the link columns, the search and page queries, row iteration and
// the link history. Each backend brings its own placeholders, row scanning,
// time representation and error classification.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// Columns are the links table's columns in the order backends scan them.
const Columns = `key, name, url, description, owner, clicks, last_clicked_at, created_at, updated_at, id, version, tags`

// ReadColumns are Columns and what an alias reads of its target (its
// name and URL; "" for a link that is no alias), in the order backends
// scan them. The subqueries name the outer row as links, so a query that
// reads them has no other table of that name in its FROM.
const ReadColumns = Columns + `, coalesce((SELECT t.name FROM links t WHERE t.id = links.alias_of), ''),
	coalesce((SELECT t.url FROM links t WHERE t.id = links.alias_of), '')`

// ChangeColumns are the link_history table's columns in the order
// ScanChange reads them.
const ChangeColumns = `seq, link_id, version, action, actor, at, key, name, old_values, new_values`

// SaturatedClicks is the click flush's new count for a row of links joined
// with v(n): clicks + n, saturated at links.MaxClicks. It never computes a
// sum that could overflow (SQLite would store it as a REAL, PostgreSQL
// fail the whole flush), and brings a count above the maximum back to it.
var SaturatedClicks = fmt.Sprintf(`CASE WHEN v.n >= %[1]d - links.clicks THEN %[1]d ELSE links.clicks + v.n END`, links.MaxClicks)

// DailyUpsert is the end of the click flush's insert into
// link_clicks_daily: a day that has a row adds to it, saturated like
// SaturatedClicks.
var DailyUpsert = fmt.Sprintf(` ON CONFLICT (link_id, day) DO UPDATE SET clicks =
	CASE WHEN excluded.clicks >= %[1]d - link_clicks_daily.clicks THEN %[1]d ELSE link_clicks_daily.clicks + excluded.clicks END`, links.MaxClicks)

// Imported is what an import stores for l over the stored link before:
// l, except that without opt.Stats the link keeps its clicks, last click
// and creation time.
func Imported(before, l links.Link, opt links.ImportOptions) links.Link {
	if !opt.Stats {
		l.Clicks, l.LastClickedAt, l.CreatedAt = before.Clicks, before.LastClickedAt, before.CreatedAt
	}
	return l
}

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(...any) error }

// Execer is a *sql.DB or *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Dialect is what differs between backends.
type Dialect struct {
	// Placeholder returns the n-th (1-based) bind parameter: "?" or "$n".
	Placeholder func(n int) string
	Scan        func(Scanner) (links.Link, error)
	// Wrap classifies a driver error (links.Unavailable, links.Internal).
	Wrap func(error) error
	// Skip, when set, is told of every row that List, Each and Targets
	// leave out because it cannot be read (key is "" when not even it
	// could), so that one malformed row never stops a start-up, a listing
	// or an export.
	// Without it such a row fails the call.
	Skip func(key string, err error)
	// Time is a time as a bind parameter; TimeDest a scan destination for
	// a time column and how to read it.
	Time     func(time.Time) any
	TimeDest func() (dest any, get func() time.Time)
	// Lock is the clause that locks the rows a transaction's SELECT
	// reads ("" where a transaction is the only writer: SQLite).
	Lock string
	// Epoch is the SQL for the Unix epoch as a time column value: what a
	// link never clicked sorts as.
	Epoch string
}

// Skipper returns a Dialect.Skip that counts each skipped row in n and
// logs it, with its key, to log.
func Skipper(n *atomic.Int64, log *slog.Logger) func(key string, err error) {
	return func(key string, err error) {
		n.Add(1)
		log.Error("skipped a stored link that cannot be read; repair or delete its row", "key", key, "err", err)
	}
}

// ClickCount scans a clicks column leniently: a count stored as a REAL
// (what SQLite makes of an integer overflow, as older versions let a click
// flush do) or out of range reads as the nearest count in
// [0, links.MaxClicks], rather than making the row unreadable.
type ClickCount struct{ N *int64 }

func (c ClickCount) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*c.N = min(max(v, 0), links.MaxClicks)
	case float64:
		switch {
		case v != v || v <= 0: // NaN too
			*c.N = 0
		case v >= links.MaxClicks:
			*c.N = links.MaxClicks
		default:
			*c.N = int64(v)
		}
	case nil:
		*c.N = 0
	default:
		return fmt.Errorf("clicks is a %T, not a number", v)
	}
	return nil
}

// query builds a statement's text and its arguments together.
type query struct {
	d    Dialect
	b    strings.Builder
	args []any
}

// arg adds v as the next bind parameter and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return q.d.Placeholder(len(q.args))
}

// where writes the conditions of opt's filters (and, with page, its cursor).
func (q *query) where(opt links.ListOptions, page bool) {
	var conds []string
	if s := strings.TrimSpace(opt.Query); s != "" {
		k := "%" + escapeLike(links.Normalize(s)) + "%"
		l := "%" + escapeLike(strings.ToLower(s)) + "%"
		conds = append(conds, `(key LIKE `+q.arg(k)+` ESCAPE '\' OR lower(url) LIKE `+q.arg(l)+` ESCAPE '\' OR lower(description) LIKE `+q.arg(l)+` ESCAPE '\')`)
	}
	for _, t := range opt.Tags {
		conds = append(conds, `(' ' || tags || ' ') LIKE `+q.arg("% "+escapeLike(strings.ToLower(t))+" %")+` ESCAPE '\'`)
	}
	if opt.Owner != "" {
		conds = append(conds, `lower(owner) = `+q.arg(strings.ToLower(opt.Owner)))
	}
	if len(opt.Owners) > 0 {
		in := make([]string, len(opt.Owners))
		for i, o := range opt.Owners {
			in[i] = q.arg(o)
		}
		conds = append(conds, `owner IN (`+strings.Join(in, ", ")+`)`)
	}
	if !opt.UnusedBefore.IsZero() {
		t := q.d.Time(opt.UnusedBefore)
		conds = append(conds, `(last_clicked_at < `+q.arg(t)+` OR (last_clicked_at IS NULL AND created_at < `+q.arg(t)+`))`)
	}
	if c := opt.After; page && c != nil {
		switch opt.Sort {
		case links.SortRecentClicks:
			conds = append(conds, `(`+recentCol+` < `+q.arg(c.Clicks)+` OR (`+recentCol+` = `+q.arg(c.Clicks)+` AND key > `+q.arg(c.Key)+`))`)
		case links.SortClicks:
			n := q.arg(c.Clicks)
			conds = append(conds, `(clicks < `+n+` OR (clicks = `+q.arg(c.Clicks)+` AND key > `+q.arg(c.Key)+`))`)
		case links.SortLastUsed, links.SortLastChanged:
			col, at := q.timeCol(opt.Sort), c.At
			if at.IsZero() {
				at = time.Unix(0, 0)
			}
			conds = append(conds, `(`+col+` < `+q.arg(q.d.Time(at))+` OR (`+col+` = `+q.arg(q.d.Time(at))+` AND key > `+q.arg(c.Key)+`))`)
		default:
			conds = append(conds, `key > `+q.arg(c.Key))
		}
	}
	if len(conds) > 0 {
		q.b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
}

// timeCol is the column a time sort orders by.
func (q *query) timeCol(s links.Sort) string {
	if s == links.SortLastUsed {
		return `coalesce(last_clicked_at, ` + q.d.Epoch + `)`
	}
	return `updated_at`
}

// List runs a links.List query: search by key (normalised like a name),
// URL and description, case-insensitively, with LIKE's wildcards escaped;
// filters by tags and owners; one page in the sort's order after opt.After.
func (d Dialect) List(ctx context.Context, db *sql.DB, opt links.ListOptions) ([]links.Link, error) {
	q := &query{d: d}
	recent := opt.Sort == links.SortRecentClicks
	if recent {
		// The window's sums, of the days' rows only (the index by day):
		// a page costs the clicked links of 30 days, not every link's.
		q.b.WriteString(`SELECT ` + ReadColumns + `, ` + recentCol + ` FROM links LEFT JOIN (SELECT link_id, CAST(sum(clicks) AS BIGINT) AS n FROM link_clicks_daily WHERE day > ` +
			q.arg(int64(opt.Today-links.RecentDays)) + ` AND day <= ` + q.arg(int64(opt.Today)) + ` GROUP BY link_id) recent ON recent.link_id = links.id`)
	} else {
		q.b.WriteString(`SELECT ` + ReadColumns + ` FROM links`)
	}
	q.where(opt, true)
	switch opt.Sort {
	case links.SortRecentClicks:
		q.b.WriteString(` ORDER BY ` + recentCol + ` DESC, key`)
	case links.SortClicks:
		q.b.WriteString(` ORDER BY clicks DESC, key`)
	case links.SortLastUsed, links.SortLastChanged:
		q.b.WriteString(` ORDER BY ` + q.timeCol(opt.Sort) + ` DESC, key`)
	default:
		q.b.WriteString(` ORDER BY key`)
	}
	if opt.Limit > 0 {
		fmt.Fprintf(&q.b, " LIMIT %d", opt.Limit)
	}
	var out []links.Link
	scan := d.Scan
	if recent {
		scan = func(r Scanner) (links.Link, error) {
			var n int64
			l, err := d.Scan(withDest{r, &n})
			l.RecentClicks = n
			return l, err
		}
	}
	err := d.with(scan).each(ctx, db, q.b.String(), q.args, func(l links.Link) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

// recentCol is a link's clicks in SortRecentClicks' window.
const recentCol = `coalesce(recent.n, 0)`

// withDest scans one more column, after a link's.
type withDest struct {
	Scanner
	extra any
}

func (w withDest) Scan(dest ...any) error { return w.Scanner.Scan(append(dest, w.extra)...) }

func (d Dialect) with(scan func(Scanner) (links.Link, error)) Dialect {
	d.Scan = scan
	return d
}

// DailyClicks returns a link's days with clicks from from to to.
func (d Dialect) DailyClicks(ctx context.Context, db *sql.DB, linkID int64, from, to links.Day) ([]links.DayClicks, error) {
	q := &query{d: d}
	q.b.WriteString(`SELECT day, clicks FROM link_clicks_daily WHERE link_id = ` + q.arg(linkID) +
		` AND day >= ` + q.arg(int64(from)) + ` AND day <= ` + q.arg(int64(to)) + ` ORDER BY day`)
	rows, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, d.Wrap(err)
	}
	defer rows.Close()
	var out []links.DayClicks
	for rows.Next() {
		var c links.DayClicks
		if err := rows.Scan(&c.Day, &c.Clicks); err != nil {
			return nil, d.Wrap(err)
		}
		out = append(out, c)
	}
	return out, d.Wrap(rows.Err())
}

// setDailyChunk bounds the rows of one SetDailyClicks statement (three
// parameters each: SQLite allows 32766, PostgreSQL 65535).
const setDailyChunk = 1000

// SetDailyClicks writes cs over the days they name, in one transaction.
func (d Dialect) SetDailyClicks(ctx context.Context, db *sql.DB, cs []links.LinkDayClicks) error {
	if len(cs) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return d.Wrap(err)
	}
	defer tx.Rollback()
	for len(cs) > 0 {
		part := cs[:min(len(cs), setDailyChunk)]
		cs = cs[len(part):]
		q := &query{d: d}
		q.b.WriteString(`INSERT INTO link_clicks_daily (link_id, day, clicks) VALUES `)
		for i, c := range part {
			if i > 0 {
				q.b.WriteString(", ")
			}
			q.b.WriteString("(" + q.arg(c.LinkID) + ", " + q.arg(int64(c.Day)) + ", " + q.arg(links.SumClicks(0, c.Clicks)) + ")")
		}
		q.b.WriteString(` ON CONFLICT (link_id, day) DO UPDATE SET clicks = excluded.clicks`)
		if _, err := tx.ExecContext(ctx, q.b.String(), q.args...); err != nil {
			return d.Wrap(err)
		}
	}
	return d.Wrap(tx.Commit())
}

// PruneClicks deletes the daily counts of days before before, in batches
// of pruneBatch rows (by the index on day).
func (d Dialect) PruneClicks(ctx context.Context, db *sql.DB, before links.Day) (int64, error) {
	return d.prune(ctx, db, func(q *query) {
		fmt.Fprintf(&q.b, `DELETE FROM link_clicks_daily WHERE (link_id, day) IN (SELECT link_id, day FROM link_clicks_daily WHERE day < %s ORDER BY day LIMIT %d)`,
			q.arg(int64(before)), pruneBatch)
	})
}

// Count counts the links List would return, without paging.
func (d Dialect) Count(ctx context.Context, db *sql.DB, opt links.ListOptions) (int, error) {
	q := &query{d: d}
	q.b.WriteString(`SELECT count(*) FROM links`)
	q.where(opt, false)
	var n int
	err := db.QueryRowContext(ctx, q.b.String(), q.args...).Scan(&n)
	return n, d.Wrap(err)
}

// Each calls fn for every link in key order, streaming.
func (d Dialect) Each(ctx context.Context, db *sql.DB, fn func(links.Link) error) error {
	return d.each(ctx, db, `SELECT `+ReadColumns+` FROM links ORDER BY key`, nil, fn)
}

// Targets calls fn with every link's key and URL, in table order.
func (d Dialect) Targets(ctx context.Context, db *sql.DB, fn func(key, url string) error) error {
	// An alias is served with its target's URL: one pass for the links,
	// one over the aliases' partial index.
	rows, err := db.QueryContext(ctx, `SELECT key, url FROM links WHERE alias_of IS NULL
		UNION ALL SELECT a.key, t.url FROM links a JOIN links t ON t.id = a.alias_of WHERE a.alias_of IS NOT NULL`)
	if err != nil {
		return d.Wrap(err)
	}
	defer rows.Close()
	var key, url string
	for rows.Next() {
		key, url = "", ""
		if err := rows.Scan(&key, &url); err != nil {
			if d.Skip == nil {
				return d.Wrap(err)
			}
			d.Skip(key, err)
			continue
		}
		if err := fn(key, url); err != nil {
			return err
		}
	}
	return d.Wrap(rows.Err())
}

func (d Dialect) each(ctx context.Context, db *sql.DB, query string, args []any, fn func(links.Link) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return d.Wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := d.Scan(rows)
		if err != nil {
			if d.Skip == nil {
				return d.Wrap(err)
			}
			d.Skip(l.Key, err)
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return d.Wrap(rows.Err())
}

// Commit commits a write's transaction and returns the link-set version
// it committed as: the version that the write's change (its trigger) set,
// read in the transaction, which no other writer can move before the
// commit (SQLite has one writer; on PostgreSQL the trigger's update holds
// the row's lock).
func (d Dialect) Commit(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM link_set_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, d.Wrap(err)
	}
	if err := tx.Commit(); err != nil {
		return 0, d.Wrap(err)
	}
	return v, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ChangeOf is the history entry of one write: from before (nil: a create)
// to after (nil: a delete), with the actor and action of EditOf(ctx);
// action is the write's own when the Edit names none. A delete is a version
// of its own, one after the last.
func ChangeOf(ctx context.Context, before, after *links.Link, action links.Action, at time.Time) links.Change {
	e := links.EditOf(ctx)
	if e.Action != "" {
		action = e.Action
	}
	c := links.Change{Action: action, Actor: e.Actor, At: at.UTC()}
	if before != nil {
		v := links.ValuesOf(*before)
		c.Before = &v
		c.LinkID, c.Version, c.Key, c.Name = before.ID, before.Version+1, before.Key, before.Name
	}
	if after != nil {
		v := links.ValuesOf(*after)
		c.After = &v
		c.LinkID, c.Version, c.Key, c.Name = after.ID, after.Version, after.Key, after.Name
	}
	return c
}

// UpdateChange is the history entry of an update from before to after: a
// rename when the name changed.
func UpdateChange(ctx context.Context, before, after links.Link) links.Change {
	action := links.ActionUpdate
	if after.Name != before.Name {
		action = links.ActionRename
	}
	return ChangeOf(ctx, &before, &after, action, after.UpdatedAt)
}

// EditTime is when a change without a link time of its own (a delete, an
// import) happened: the Edit's time, or now.
func EditTime(ctx context.Context) time.Time {
	if at := links.EditOf(ctx).At; !at.IsZero() {
		return at
	}
	return time.Now()
}

// MatchOf is the version an Update of l expects: l's, when l names one.
func MatchOf(l links.Link) []links.Rev {
	if l.ID == 0 {
		return nil
	}
	return []links.Rev{l.Rev()}
}

// Stale is the error of a conditional write that found cur instead.
func Stale(cur links.Link) error {
	return links.Errorf(links.Stale, "link %q was changed meanwhile; it is now at version %d", cur.Name, cur.Version)
}

// InsertChange writes c to the history, in the caller's transaction.
func (d Dialect) InsertChange(ctx context.Context, ex Execer, c links.Change) error {
	_, err := ex.ExecContext(ctx, d.ChangesSQL(1), d.ChangeArgs(c)...)
	return d.Wrap(err)
}

// ChangesSQL is the statement that inserts n history entries, with their
// ChangeArgs one after the other as its parameters: an import writes a
// chunk's entries with one statement.
func (d Dialect) ChangesSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO link_history (link_id, version, action, actor, at, key, name, old_values, new_values) VALUES `)
	for i := range n * changeCols {
		switch {
		case i == 0:
			b.WriteString("(")
		case i%changeCols == 0:
			b.WriteString("), (")
		default:
			b.WriteString(", ")
		}
		b.WriteString(d.Placeholder(i + 1))
	}
	b.WriteString(")")
	return b.String()
}

const changeCols = 9

// ChangeArgs are the parameters of one entry in ChangesSQL.
func (d Dialect) ChangeArgs(c links.Change) []any {
	return []any{c.LinkID, c.Version, string(c.Action), c.Actor, d.Time(c.At), c.Key, c.Name, EncodeValues(c.Before), EncodeValues(c.After)}
}

// EncodeValues is v as the history stores it: JSON, or NULL.
func EncodeValues(v *links.Values) sql.NullString {
	if v == nil {
		return sql.NullString{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("sqlstore: links.Values does not marshal: " + err.Error()) // plain strings and a time: cannot happen
	}
	return sql.NullString{String: string(b), Valid: true}
}

func decodeValues(s sql.NullString) (*links.Values, error) {
	if !s.Valid {
		return nil, nil
	}
	var v links.Values
	if err := json.Unmarshal([]byte(s.String), &v); err != nil {
		return nil, fmt.Errorf("history values do not decode: %w", err)
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	return &v, nil
}

// ScanChange reads one history row (ChangeColumns).
func (d Dialect) ScanChange(r Scanner) (links.Change, error) {
	var c links.Change
	var action string
	var before, after sql.NullString
	at, get := d.TimeDest()
	if err := r.Scan(&c.Seq, &c.LinkID, &c.Version, &action, &c.Actor, at, &c.Key, &c.Name, &before, &after); err != nil {
		return c, err
	}
	c.Action, c.At = links.Action(action), get()
	var err error
	if c.Before, err = decodeValues(before); err != nil {
		return c, err
	}
	c.After, err = decodeValues(after)
	return c, err
}

// Changes runs a links.Store Changes query.
func (d Dialect) Changes(ctx context.Context, db *sql.DB, cq links.ChangeQuery) ([]links.Change, error) {
	q := &query{d: d}
	q.b.WriteString(`SELECT ` + ChangeColumns + ` FROM link_history`)
	var conds []string
	if cq.LinkID != 0 {
		conds = append(conds, `link_id = `+q.arg(cq.LinkID))
	}
	if cq.Version != 0 {
		conds = append(conds, `version = `+q.arg(cq.Version))
	}
	if !cq.Since.IsZero() {
		conds = append(conds, `at >= `+q.arg(d.Time(cq.Since)))
	}
	if cq.After != 0 {
		conds = append(conds, `seq > `+q.arg(cq.After))
	}
	if cq.Before != 0 {
		conds = append(conds, `seq < `+q.arg(cq.Before))
	}
	if len(conds) > 0 {
		q.b.WriteString(` WHERE ` + strings.Join(conds, ` AND `))
	}
	q.b.WriteString(` ORDER BY seq`)
	if cq.Desc {
		q.b.WriteString(` DESC`)
	}
	if cq.Limit > 0 {
		fmt.Fprintf(&q.b, ` LIMIT %d`, cq.Limit)
	}
	return d.changes(ctx, db, q)
}

// Deleted lists the deletions that are the last change of links that no
// longer exist, newest first.
func (d Dialect) Deleted(ctx context.Context, db *sql.DB, dq links.DeletedQuery) ([]links.Change, error) {
	q := &query{d: d}
	q.b.WriteString(`SELECT ` + ChangeColumns + ` FROM link_history h WHERE action = 'delete'
		AND NOT EXISTS (SELECT 1 FROM links l WHERE l.id = h.link_id)
		AND NOT EXISTS (SELECT 1 FROM link_history n WHERE n.link_id = h.link_id AND n.seq > h.seq)`)
	if dq.Key != "" {
		q.b.WriteString(` AND key = ` + q.arg(dq.Key))
	}
	if dq.Before != 0 {
		q.b.WriteString(` AND seq < ` + q.arg(dq.Before))
	}
	q.b.WriteString(` ORDER BY seq DESC`)
	if dq.Limit > 0 {
		fmt.Fprintf(&q.b, ` LIMIT %d`, dq.Limit)
	}
	return d.changes(ctx, db, q)
}

func (d Dialect) changes(ctx context.Context, db *sql.DB, q *query) ([]links.Change, error) {
	rows, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, d.Wrap(err)
	}
	defer rows.Close()
	var out []links.Change
	for rows.Next() {
		c, err := d.ScanChange(rows)
		if err != nil {
			return nil, d.Wrap(err)
		}
		out = append(out, c)
	}
	return out, d.Wrap(rows.Err())
}

// pruneBatch bounds one DELETE of PruneHistory, and pruneBatches one call:
// a large backlog goes over several calls rather than one long lock.
const pruneBatch, pruneBatches = 1000, 100

// PruneHistory deletes history entries older than before, in batches.
func (d Dialect) PruneHistory(ctx context.Context, db *sql.DB, before time.Time) (int64, error) {
	return d.prune(ctx, db, func(q *query) {
		q.b.WriteString(`DELETE FROM link_history WHERE seq IN (SELECT seq FROM link_history WHERE at < ` + q.arg(d.Time(before)))
		fmt.Fprintf(&q.b, ` ORDER BY seq LIMIT %d)`, pruneBatch)
	})
}

// prune runs the DELETE of at most pruneBatch rows that build writes
// until it deletes fewer, at most pruneBatches times.
func (d Dialect) prune(ctx context.Context, db *sql.DB, build func(*query)) (int64, error) {
	var total int64
	for range pruneBatches {
		q := &query{d: d}
		build(q)
		res, err := db.ExecContext(ctx, q.b.String(), q.args...)
		if err != nil {
			return total, d.Wrap(err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < pruneBatch {
			break
		}
	}
	return total, nil
}

// MatchCond is the condition that a row has one of match's IDs and
// versions ("" for none), with its arguments numbered after n.
func (d Dialect) MatchCond(n int, match []links.Rev) (string, []any) {
	if len(match) == 0 {
		return "", nil
	}
	q := &query{d: d, args: make([]any, n, n+2*len(match))}
	var ors []string
	for _, m := range match {
		ors = append(ors, `(id = `+q.arg(m.ID)+` AND version = `+q.arg(m.Version)+`)`)
	}
	return ` AND (` + strings.Join(ors, ` OR `) + `)`, q.args[n:]
}

// Querier is a *sql.DB or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// AliasesOf returns the names of the links that are aliases of link id, in
// key order; at most limit of them (0: all).
func (d Dialect) AliasesOf(ctx context.Context, q Querier, id int64, limit int) ([]string, error) {
	query := `SELECT name FROM links WHERE alias_of = ` + d.Placeholder(1) + ` ORDER BY key`
	if limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := q.QueryContext(ctx, query, id)
	if err != nil {
		return nil, d.Wrap(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, d.Wrap(err)
		}
		out = append(out, n)
	}
	return out, d.Wrap(rows.Err())
}

// aliasErr is an Invalid error about the alias_of field.
func aliasErr(format string, args ...any) error {
	e := links.Errorf(links.Invalid, format, args...)
	e.Field = "alias_of"
	return e
}

// AliasTarget checks, in the writing transaction tx, that l (stored as
// link id; 0 for one not stored yet) may be what it says: an alias of an
// existing link that is no alias itself, while no alias leads to l. It
// returns the target's ID, NULL when l is no alias. The target's row is
// locked (Dialect.Lock), so that it cannot become an alias before the
// commit; a link that would become an alias is locked by its own update.
func (d Dialect) AliasTarget(ctx context.Context, tx *sql.Tx, l links.Link, id int64) (sql.NullInt64, error) {
	if !l.IsAlias() {
		return sql.NullInt64{}, nil
	}
	var tid int64
	var tname, tof string
	err := tx.QueryRowContext(ctx, `SELECT id, name, coalesce((SELECT t.name FROM links t WHERE t.id = links.alias_of), '')
		FROM links WHERE key = `+d.Placeholder(1)+d.Lock, links.Normalize(l.AliasOf)).Scan(&tid, &tname, &tof)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return sql.NullInt64{}, aliasErr("there is no go/%s to be an alias of", l.AliasOf)
	case err != nil:
		return sql.NullInt64{}, d.Wrap(err)
	case tid == id:
		return sql.NullInt64{}, aliasErr("go/%s cannot be an alias of itself", l.Name)
	case tof != "":
		return sql.NullInt64{}, aliasErr("go/%s is an alias of go/%s itself, and aliases of aliases are refused; make go/%s an alias of go/%s", tname, tof, l.Name, tof)
	}
	if id != 0 {
		as, err := d.AliasesOf(ctx, tx, id, 3)
		if err != nil {
			return sql.NullInt64{}, err
		}
		if len(as) > 0 {
			return sql.NullInt64{}, aliasErr("go/%s has aliases (go/%s), and aliases of aliases are refused; make them aliases of go/%s first", l.Name, strings.Join(as, ", go/"), tname)
		}
	}
	return sql.NullInt64{Int64: tid, Valid: true}, nil
}

// SetAliasOf stores link id's target (NULL: no alias), in tx. The change
// triggers do not fire for this column alone: the write it is part of
// names the others.
func (d Dialect) SetAliasOf(ctx context.Context, tx *sql.Tx, id int64, target sql.NullInt64) error {
	_, err := tx.ExecContext(ctx, `UPDATE links SET alias_of = `+d.Placeholder(1)+` WHERE id = `+d.Placeholder(2), target, id)
	return d.Wrap(err)
}

// RefuseAliased is the error for deleting link l (id) while aliases lead
// to it, nil when none do.
func (d Dialect) RefuseAliased(ctx context.Context, tx *sql.Tx, l links.Link) error {
	as, err := d.AliasesOf(ctx, tx, l.ID, 11)
	if err != nil || len(as) == 0 {
		return err
	}
	more := ""
	if len(as) > 10 {
		as, more = as[:10], " and more"
	}
	return links.Errorf(links.Conflict, "go/%s has aliases (go/%s%s); delete them or make them aliases of another link first", l.Name, strings.Join(as, ", go/"), more)
}

// ImportedAlias is what an import wrote for a link that is, or was, an
// alias: its key and its target's name ("" to end the alias).
type ImportedAlias struct{ Key, Target string }

// SetImportedAliases points the aliases an import wrote at their targets,
// once every line is in (an alias may come before its target). An alias
// of an alias (which golink resolves hop by hop) is stored as an alias of
// the chain's end, which answers the same; a cycle is refused, and so is
// any alias of an alias left over (a stored alias of a link the import
// made an alias).
func (d Dialect) SetImportedAliases(ctx context.Context, tx *sql.Tx, as []ImportedAlias) error {
	if len(as) == 0 {
		return nil
	}
	// Aliases ended first, so that a chain's end reads as no alias.
	slices.SortStableFunc(as, func(a, b ImportedAlias) int {
		switch {
		case a.Target == "" && b.Target != "":
			return -1
		case a.Target != "" && b.Target == "":
			return 1
		}
		return 0
	})
	next := make(map[string]string, len(as))
	for _, a := range as {
		if a.Target != "" {
			next[a.Key] = links.Normalize(a.Target)
		}
	}
	for _, a := range as {
		var target sql.NullInt64
		if a.Target != "" {
			k := links.Normalize(a.Target)
			for steps := 0; next[k] != ""; steps++ {
				if steps > len(next) {
					return links.Errorf(links.Invalid, "go/%s is an alias of go/%s, and its aliases lead round in a circle; nothing was imported", a.Key, a.Target)
				}
				k = next[k]
			}
			var id int64
			var of sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT id, alias_of FROM links WHERE key = `+d.Placeholder(1)+d.Lock, k).Scan(&id, &of)
			if errors.Is(err, sql.ErrNoRows) {
				return links.Errorf(links.Invalid, "go/%s is an alias of go/%s, which is neither in the import nor stored; nothing was imported", a.Key, k)
			}
			if err != nil {
				return d.Wrap(err)
			}
			target = sql.NullInt64{Int64: id, Valid: true}
			if of.Valid { // a stored alias the import left alone: its target
				target = of
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE links SET alias_of = `+d.Placeholder(1)+` WHERE key = `+d.Placeholder(2), target, a.Key); err != nil {
			return d.Wrap(err)
		}
	}
	var a, t string
	err := tx.QueryRowContext(ctx, `SELECT a.name, t.name FROM links a JOIN links t ON t.id = a.alias_of
		WHERE a.alias_of IS NOT NULL AND t.alias_of IS NOT NULL ORDER BY a.key LIMIT 1`).Scan(&a, &t)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return d.Wrap(err)
	}
	return links.Errorf(links.Invalid, "go/%s would be an alias of go/%s, which is an alias itself; aliases of aliases are refused, so nothing was imported", a, t)
}
