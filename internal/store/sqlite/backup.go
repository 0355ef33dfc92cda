package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/signpost-go/signpost/internal/links"
)

// BackupResult describes a finished backup.
type BackupResult struct {
	Links         int64 // links in the copy
	SchemaVersion int64 // its migration version
	Bytes         int64 // its size
}

// Backup writes a consistent copy of the database at path to dest with
// VACUUM INTO, which reads one snapshot of the database (WAL included)
// while other connections, a running server's too, go on reading and
// writing. A copy of the file itself is not safe: with WAL, committed
// transactions may still live only in the -wal file, and a copy taken
// while a checkpoint runs is torn.
//
// The database is opened as it is, without migrating it, and must exist.
// dest must not: a backup never overwrites a file. The copy is written
// under a temporary name next to dest, checked (integrity_check), synced
// and then renamed, so dest is either a whole, checked backup or absent.
func Backup(ctx context.Context, path, dest string) (BackupResult, error) {
	if path == "" || dest == "" {
		return BackupResult{}, links.Errorf(links.Invalid, "backup: empty database path or FILE")
	}
	if _, err := os.Stat(path); err != nil {
		return BackupResult{}, links.Errorf(links.Invalid, "backup: cannot read the database %s: %v", path, unwrapPath(err))
	}
	if _, err := os.Lstat(dest); err == nil {
		return BackupResult{}, links.Errorf(links.Invalid, "backup: %s already exists; a backup never overwrites a file, choose a new name", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return BackupResult{}, links.Errorf(links.Invalid, "backup: %s: %v", dest, unwrapPath(err))
	}
	if abs(path) == abs(dest) {
		return BackupResult{}, links.Errorf(links.Invalid, "backup: FILE is the database itself")
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-"+hex.EncodeToString(suffix[:]))
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove

	// mode=rw: never create an empty database where none was.
	src, err := sql.Open("sqlite", dsn(path, "rw"))
	if err != nil {
		return BackupResult{}, err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return BackupResult{}, fmt.Errorf("backup: VACUUM INTO %s: %w", filepath.Dir(dest), err)
	}
	res, err := checkCopy(ctx, tmp)
	if err != nil {
		return BackupResult{}, err
	}
	if err := syncFile(tmp); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return BackupResult{}, fmt.Errorf("backup: %w", err)
	}
	// The rename is durable once the directory is synced; not every
	// platform can sync a directory, and the copy itself is already whole.
	if d, err := os.Open(filepath.Dir(dest)); err == nil {
		d.Sync()
		d.Close()
	}
	return res, nil
}

// checkCopy opens the copy read-only and proves it is a whole database
// with the tables Signpost needs.
func checkCopy(ctx context.Context, path string) (BackupResult, error) {
	db, err := sql.Open("sqlite", dsn(path, "ro"))
	if err != nil {
		return BackupResult{}, err
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		return BackupResult{}, fmt.Errorf("backup: the copy fails integrity_check: %v%s", err, ok)
	}
	var res BackupResult
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM links`).Scan(&res.Links); err != nil {
		return BackupResult{}, fmt.Errorf("backup: the database has no links table (is it a Signpost database?): %w", err)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		return BackupResult{}, fmt.Errorf("backup: no migration table in the copy: %w", err)
	}
	res.SchemaVersion = v.Int64
	fi, err := os.Stat(path)
	if err != nil {
		return BackupResult{}, err
	}
	res.Bytes = fi.Size()
	return res, nil
}

// dsn is the driver's name for the file at path, opened in mode (rw, ro).
func dsn(path, mode string) string {
	q := url.Values{}
	q.Set("mode", mode)
	q.Add("_pragma", "busy_timeout(10000)")
	return "file:" + path + "?" + q.Encode()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return filepath.Clean(a)
	}
	return path
}

// unwrapPath drops the "stat PATH:" prefix an *os.PathError adds, since
// the message names the path already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
