package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

func create(t *testing.T, s *sqlite.Store, name string) {
	t.Helper()
	now := time.Now().UTC()
	if _, _, err := s.Create(context.Background(), links.Link{Name: name, Key: links.Normalize(name), URL: "https://" + name + ".example", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	var n int64
	if err := s.Each(context.Background(), func(links.Link) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Backups taken while another connection keeps writing are whole databases
// that open (the restore) with every link committed before they started.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "live.db"), sqlite.Options{MaxOpenConns: 4, MaxIdleConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const before = 300
	for i := range before {
		create(t, s, fmt.Sprintf("before-%d", i))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5000; i++ { // bounded; stopped long before
			select {
			case <-stop:
				return
			default:
			}
			now := time.Now().UTC()
			if _, _, err := s.Create(ctx, links.Link{Name: fmt.Sprintf("during-%d", i), Key: fmt.Sprintf("during%d", i), URL: "https://d.example", CreatedAt: now, UpdatedAt: now}); err != nil {
				writeErr = err
				return
			}
			if err := s.AddClicks(ctx, []links.Click{{Key: "before0", N: 1, Last: now}}); err != nil {
				writeErr = err
				return
			}
		}
	}()
	var results []sqlite.BackupResult
	for i := range 3 {
		res, err := sqlite.Backup(ctx, filepath.Join(dir, "live.db"), filepath.Join(dir, fmt.Sprintf("backup-%d.db", i)))
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("backup %d: %v", i, err)
		}
		results = append(results, res)
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("the writer failed while backups ran: %v", writeErr)
	}
	total := count(t, s)
	t.Logf("%d links before the backups, %d after (%d made while they ran)", before, total, total-before)
	if total == before {
		t.Log("the writer made no link during the backups (a very slow machine?)")
	}

	umask := syscall.Umask(0)
	syscall.Umask(umask)
	for i, res := range results {
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := os.FileMode(0o644) &^ os.FileMode(umask); fi.Mode().Perm() != want {
			t.Errorf("backup-%d.db has mode %v, want %v", i, fi.Mode().Perm(), want)
		}
		// Restore: the copy is a database Signpost opens like any other.
		r, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open backup-%d.db: %v", i, err)
		}
		n := count(t, r)
		if n < before || n > total || n != res.Links {
			t.Errorf("backup-%d.db holds %d links (result says %d), want %d..%d", i, n, res.Links, before, total)
		}
		if l, err := r.Get(ctx, "before299"); err != nil || l.URL != "https://before-299.example" {
			t.Errorf("backup-%d.db: before-299 = %+v, %v", i, l, err)
		}
		if v, _ := r.SchemaVersion(ctx); v != res.SchemaVersion || v < 1 {
			t.Errorf("backup-%d.db: schema version %d, result %d", i, v, res.SchemaVersion)
		}
		r.Close()
	}
	// Nothing but the live database, its WAL files and the backups is left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	// A backup taken when the writes have stopped has every link.
	res, err := sqlite.Backup(ctx, filepath.Join(dir, "live.db"), filepath.Join(dir, "final.db"))
	if err != nil || res.Links != total {
		t.Errorf("final backup: %+v, %v; want %d links", res, err, total)
	}
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	s, err := sqlite.Open(ctx, live, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	create(t, s, "docs")
	s.Close()
	existing := filepath.Join(dir, "existing.db")
	os.WriteFile(existing, []byte("keep me"), 0o644)
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE other (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		name, src, dest, want string
	}{
		{"destination exists", live, existing, "already exists"},
		{"no database", filepath.Join(dir, "missing.db"), filepath.Join(dir, "b1.db"), "cannot read the database"},
		{"destination directory missing", live, filepath.Join(dir, "no-dir", "b2.db"), "VACUUM INTO"},
		{"the database itself", live, live, "already exists"},
		{"not a Signpost database", foreign, filepath.Join(dir, "b3.db"), "no links table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlite.Backup(ctx, tc.src, tc.dest)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Backup(%s, %s) = %v, want an error containing %q", tc.src, tc.dest, err, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("an existing file was overwritten: %q", b)
	}
	for _, p := range []string{"missing.db", "b1.db", "b3.db"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s was created by a refused backup", p)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
