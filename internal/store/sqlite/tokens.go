package sqlite

import (
	"database/sql"
	"time"

	"github.com/signpost-go/signpost/internal/store/sqlstore"
)

// tokenSQL is the links.TokenStore that Store embeds: times are unix
// microseconds, as in the links table.
func tokenSQL(rd, wr *sql.DB, placeholder func(int) string) sqlstore.TokenSQL {
	return sqlstore.TokenSQL{
		Read: rd, Write: wr,
		Placeholder: placeholder,
		Time: func(t time.Time) any {
			if t.IsZero() {
				return nil
			}
			return micros(t)
		},
		ScanTime: func() (any, func() time.Time) {
			var v sql.NullInt64
			return &v, func() time.Time {
				if !v.Valid {
					return time.Time{}
				}
				return fromMicros(v.Int64)
			}
		},
		Wrap: wrap, IsConflict: isConstraint,
	}
}
