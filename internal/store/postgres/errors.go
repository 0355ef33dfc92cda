package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signpost-go/signpost/internal/links"
)

func wrap(err error) error { return wrapMsg(err, "") }

// wrapMsg classifies driver errors, so that the web layer answers 503 while
// the database is down and 409 for a duplicate key:
//
//   - the server unreachable, restarting, shutting down, out of
//     connections, or a transaction that lost a race (serialisation,
//     deadlock): Unavailable, worth retrying;
//   - a unique violation: Conflict;
//   - anything else: Internal.
func wrapMsg(err error, prefix string) error {
	if err == nil {
		return nil
	}
	var le *links.Error
	if errors.As(err, &le) {
		return err
	}
	msg := func(m string) string {
		if prefix != "" {
			return prefix + ": " + m
		}
		return m
	}
	if isUniqueViolation(err) {
		return links.Wrap(err, links.Conflict, msg("already exists"))
	}
	if errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return links.Wrap(err, links.Unavailable, msg("cancelled"))
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return links.Wrap(err, links.Unavailable, msg("database did not answer in time"))
	}
	if isDiskFull(err) {
		return links.Wrap(err, links.DiskFull, msg("disk full: the database cannot grow; free space on its volume"))
	}
	if isUnavailable(err) {
		return links.Wrap(err, links.Unavailable, msg("database unavailable"))
	}
	return links.Wrap(err, links.Internal, msg("database error"))
}

func isDiskFull(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "53100" // disk_full
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isUnavailable reports errors that say "the database cannot serve this
// now", as opposed to "this request is wrong".
func isUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case strings.HasPrefix(pe.Code, "53"): // insufficient resources (too many connections, disk full)
			return true
		case strings.HasPrefix(pe.Code, "57P"): // admin/crash shutdown, cannot connect now
			return true
		}
		switch pe.Code {
		case "40001", "40P01": // serialization failure, deadlock detected
			return true
		case "57014": // query cancelled (statement timeout)
			return true
		case "25006": // read-only transaction: a replica or a failover in progress
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		pgconn.SafeToRetry(err) // e.g. "conn closed": nothing was sent
}
