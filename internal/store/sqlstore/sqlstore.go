// Package sqlstore holds the SQL that the SQLite and PostgreSQL stores
// share: the link columns, the search query and row iteration. Each backend
// brings its own placeholders, row scanning and error classification.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/signpost-go/signpost/internal/links"
)

// Columns are the links table's columns in the order backends scan them.
const Columns = `key, name, url, description, owner, clicks, last_clicked_at, created_at, updated_at`

// SaturatedClicks is the click flush's new count for a row of links joined
// with v(n): clicks + n, saturated at links.MaxClicks. It never computes a
// sum that could overflow (SQLite would store it as a REAL, PostgreSQL
// fail the whole flush), and brings a count above the maximum back to it.
var SaturatedClicks = fmt.Sprintf(`CASE WHEN v.n >= %[1]d - links.clicks THEN %[1]d ELSE links.clicks + v.n END`, links.MaxClicks)

// ImportSet is the SET clause of an import's upsert on a key that exists:
// without opt.Stats the link keeps its clicks, last click and creation
// time.
func ImportSet(opt links.ImportOptions) string {
	set := `name = excluded.name, url = excluded.url, description = excluded.description,
		owner = excluded.owner, updated_at = excluded.updated_at`
	if opt.Stats {
		set += `, clicks = excluded.clicks, last_clicked_at = excluded.last_clicked_at, created_at = excluded.created_at`
	}
	return set
}

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(...any) error }

// Dialect is what differs between backends.
type Dialect struct {
	// Placeholder returns the n-th (1-based) bind parameter: "?" or "$n".
	Placeholder func(n int) string
	Scan        func(Scanner) (links.Link, error)
	// Wrap classifies a driver error (links.Unavailable, links.Internal).
	Wrap func(error) error
	// Skip, when set, is told of every row that List and Each leave out
	// because it cannot be read (key is "" when not even it could), so that
	// one malformed row never stops a start-up, a listing or an export.
	// Without it such a row fails the call.
	Skip func(key string, err error)
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

// List runs a links.List query: search by key (normalised like a name),
// URL and description, case-insensitively, with LIKE's wildcards escaped.
func (d Dialect) List(ctx context.Context, db *sql.DB, opt links.ListOptions) ([]links.Link, error) {
	var where string
	var args []any
	if q := strings.TrimSpace(opt.Query); q != "" {
		p1, p2 := d.Placeholder(1), d.Placeholder(2)
		where = ` WHERE key LIKE ` + p1 + ` ESCAPE '\' OR lower(url) LIKE ` + p2 + ` ESCAPE '\' OR lower(description) LIKE ` + p2 + ` ESCAPE '\'`
		args = append(args, "%"+escapeLike(links.Normalize(q))+"%", "%"+escapeLike(strings.ToLower(q))+"%")
		if p2 == "?" { // positional placeholders need the value once per use
			args = append(args, args[1])
		}
	}
	order := ` ORDER BY key`
	switch opt.Sort {
	case links.SortPopular:
		order = ` ORDER BY clicks DESC, key`
	case links.SortRecent:
		order = ` ORDER BY updated_at DESC, key`
	}
	limit := ""
	if opt.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", opt.Limit)
	}
	var out []links.Link
	err := d.each(ctx, db, `SELECT `+Columns+` FROM links`+where+order+limit, args, func(l links.Link) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

// Each calls fn for every link in key order, streaming.
func (d Dialect) Each(ctx context.Context, db *sql.DB, fn func(links.Link) error) error {
	return d.each(ctx, db, `SELECT `+Columns+` FROM links ORDER BY key`, nil, fn)
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

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
