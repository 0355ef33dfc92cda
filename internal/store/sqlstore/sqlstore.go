// Package sqlstore holds the SQL that the SQLite and PostgreSQL stores
// share: the link columns, the search query and row iteration. Each backend
// brings its own placeholders, row scanning and error classification.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/signpost-go/signpost/internal/links"
)

// Columns are the links table's columns in the order backends scan them.
const Columns = `key, name, url, description, owner, clicks, last_clicked_at, created_at, updated_at`

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(...any) error }

// Dialect is what differs between backends.
type Dialect struct {
	// Placeholder returns the n-th (1-based) bind parameter: "?" or "$n".
	Placeholder func(n int) string
	Scan        func(Scanner) (links.Link, error)
	// Wrap classifies a driver error (links.Unavailable, links.Internal).
	Wrap func(error) error
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

// Targets calls fn with every link's key and URL, in table order.
func (d Dialect) Targets(ctx context.Context, db *sql.DB, fn func(key, url string) error) error {
	rows, err := db.QueryContext(ctx, `SELECT key, url FROM links`)
	if err != nil {
		return d.Wrap(err)
	}
	defer rows.Close()
	var key, url string
	for rows.Next() {
		if err := rows.Scan(&key, &url); err != nil {
			return d.Wrap(err)
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
			return d.Wrap(err)
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return d.Wrap(rows.Err())
}

// Write runs fn in a transaction on db and returns what it returned with
// the link-set version at its commit: the version that fn's change (its
// trigger) set, which no other writer can move before the commit (SQLite
// has one writer; on PostgreSQL the trigger's update holds the row's lock).
func (d Dialect) Write(ctx context.Context, db *sql.DB, fn func(*sql.Tx) (links.Link, error)) (links.Link, int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return links.Link{}, 0, d.Wrap(err)
	}
	defer tx.Rollback()
	l, err := fn(tx)
	if err != nil {
		return l, 0, d.Wrap(err)
	}
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM link_set_version WHERE id = 1`).Scan(&v); err != nil {
		return l, 0, d.Wrap(err)
	}
	return l, v, d.Wrap(tx.Commit())
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
