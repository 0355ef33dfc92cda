package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// TokenSQL implements links.TokenStore on the api_tokens table (migration
// 00006) for both backends; they differ only in how times are stored.
type TokenSQL struct {
	Read, Write *sql.DB
	Placeholder func(n int) string
	// Time is the column value of t; the zero time is NULL.
	Time func(t time.Time) any
	// ScanTime returns a Scan destination for a nullable time column and
	// a function that returns what was scanned (zero for NULL).
	ScanTime   func() (dest any, get func() time.Time)
	Wrap       func(error) error
	IsConflict func(error) bool
}

const tokenColumns = `id, owner, groups, name, scopes, hash, created_at, last_used_at, expires_at`

func (d TokenSQL) ph(sql string) string {
	if d.Placeholder(1) == "?" {
		return sql
	}
	var b strings.Builder
	n := 0
	for _, r := range sql {
		if r == '?' {
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d TokenSQL) CreateToken(ctx context.Context, t links.Token) error {
	groups, err := json.Marshal(t.Groups)
	if err != nil {
		return links.Wrap(err, links.Internal, "encoding token groups")
	}
	if t.Groups == nil {
		groups = []byte("[]")
	}
	scopes := make([]string, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = string(s)
	}
	_, err = d.Write.ExecContext(ctx, d.ph(`INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Owner, string(groups), t.Name, strings.Join(scopes, " "), t.Hash,
		d.Time(t.CreatedAt), d.Time(t.LastUsedAt), d.Time(t.ExpiresAt))
	if d.IsConflict(err) {
		return links.Errorf(links.Conflict, "token %q already exists", t.ID)
	}
	return d.Wrap(err)
}

func (d TokenSQL) scan(r Scanner) (links.Token, error) {
	var t links.Token
	var groups, scopes string
	created, getCreated := d.ScanTime()
	used, getUsed := d.ScanTime()
	expires, getExpires := d.ScanTime()
	if err := r.Scan(&t.ID, &t.Owner, &groups, &t.Name, &scopes, &t.Hash, created, used, expires); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(groups), &t.Groups); err != nil {
		return t, links.Wrap(err, links.Internal, "token "+t.ID+" has unreadable groups")
	}
	if len(t.Groups) == 0 {
		t.Groups = nil
	}
	for _, s := range strings.Fields(scopes) {
		t.Scopes = append(t.Scopes, links.Scope(s))
	}
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt = getCreated(), getUsed(), getExpires()
	return t, nil
}

func (d TokenSQL) Token(ctx context.Context, id string) (links.Token, error) {
	t, err := d.scan(d.Read.QueryRowContext(ctx, d.ph(`SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, links.Errorf(links.NotFound, "token %q not found", id)
	}
	return t, d.Wrap(err)
}

func (d TokenSQL) Tokens(ctx context.Context, owner string) ([]links.Token, error) {
	q, args := `SELECT `+tokenColumns+` FROM api_tokens`, []any{}
	if owner != "" {
		q, args = q+` WHERE owner = ?`, append(args, owner)
	}
	rows, err := d.Read.QueryContext(ctx, d.ph(q+` ORDER BY created_at DESC, id`), args...)
	if err != nil {
		return nil, d.Wrap(err)
	}
	defer rows.Close()
	var out []links.Token
	for rows.Next() {
		t, err := d.scan(rows)
		if err != nil {
			return nil, d.Wrap(err)
		}
		out = append(out, t)
	}
	return out, d.Wrap(rows.Err())
}

func (d TokenSQL) DeleteToken(ctx context.Context, id string) error {
	res, err := d.Write.ExecContext(ctx, d.ph(`DELETE FROM api_tokens WHERE id = ?`), id)
	if err != nil {
		return d.Wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return links.Errorf(links.NotFound, "token %q not found", id)
	}
	return nil
}

func (d TokenSQL) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := d.Write.ExecContext(ctx, d.ph(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), d.Time(at), id)
	return d.Wrap(err)
}
