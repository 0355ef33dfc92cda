package postgres

import (
	"database/sql"
	"time"

	"github.com/signpost-go/signpost/internal/store/sqlstore"
)

// tokenSQL is the links.TokenStore that Store embeds.
func tokenSQL(db *sql.DB, placeholder func(int) string) sqlstore.TokenSQL {
	return sqlstore.TokenSQL{
		Read: db, Write: db,
		Placeholder: placeholder,
		Time: func(t time.Time) any {
			if t.IsZero() {
				return nil
			}
			return t
		},
		ScanTime: func() (any, func() time.Time) {
			var v sql.NullTime
			return &v, func() time.Time {
				if !v.Valid {
					return time.Time{}
				}
				return v.Time.UTC()
			}
		},
		Wrap: wrap, IsConflict: isUniqueViolation,
	}
}
