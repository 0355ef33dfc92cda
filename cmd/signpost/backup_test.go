package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The runbook's path, end to end: `signpost backup` while the server takes
// writes, then a server started on the restored file serves what was saved.
func TestBackupWhileServingAndRestore(t *testing.T) {
	dir := t.TempDir()
	live := "sqlite:" + filepath.Join(dir, "live.db")
	a := startRun(t, map[string]string{"DATABASE_URL": live, "LOG_LEVEL": "info"})
	for i := range 20 {
		if resp, body := mustDo(t, "POST", a.URL+"/api/v1/links", fmt.Sprintf(`{"name":"before-%d","url":"https://b.example/%d"}`, i, i)); resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
	}

	// Writes keep coming while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var made int
	var writeErr string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ { // bounded; stopped long before
			select {
			case <-stop:
				return
			default:
			}
			resp, body := mustDo(t, "POST", a.URL+"/api/v1/links", fmt.Sprintf(`{"name":"during-%d","url":"https://d.example/%d"}`, i, i))
			if resp.StatusCode != 201 {
				writeErr = fmt.Sprintf("%d %s", resp.StatusCode, body)
				return
			}
			made++
		}
	}()
	backupFile := filepath.Join(dir, "signpost-backup.db")
	code, _, errs := runCLI(t, map[string]string{"DATABASE_URL": live}, "backup", backupFile)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.HasPrefix(errs, "backed up ") || !strings.Contains(errs, "to "+backupFile) {
		t.Fatalf("backup: exit %d %q", code, errs)
	}
	if writeErr != "" {
		t.Fatalf("a write failed while the backup ran: %s", writeErr)
	}
	t.Logf("%s(%d links made while the backup ran)", errs, made)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}

	// Restore: a server on the copy serves every link saved before the backup began.
	b := startRun(t, map[string]string{"DATABASE_URL": "sqlite:" + backupFile, "LOG_LEVEL": "info"})
	resp, body := mustDo(t, "GET", b.URL+"/api/v1/links?limit=1000", "")
	var list struct {
		Links []struct{ Name string } `json:"links"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("list on the restored database: %d %s", resp.StatusCode, body)
	}
	if len(list.Links) < 20 || len(list.Links) > 20+made {
		t.Errorf("restored database holds %d links, want 20..%d", len(list.Links), 20+made)
	}
	if !strings.Contains(errs, fmt.Sprintf("backed up %d links", len(list.Links))) {
		t.Errorf("backup said %q, the restored server lists %d links", errs, len(list.Links))
	}
	if resp, _ := mustDo(t, "GET", b.URL+"/before-19", ""); resp.StatusCode != 302 || resp.Header.Get("Location") != "https://b.example/19" {
		t.Errorf("redirect on the restored database: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestBackupRefusals(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "b.db")
	if code, _, errs := runCLI(t, map[string]string{"DATABASE_URL": db}, "migrate"); code != 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{[]string{"backup"}, map[string]string{"DATABASE_URL": db}, 2, "give one FILE"},
		{[]string{"backup", "a.db", "b.db"}, map[string]string{"DATABASE_URL": db}, 2, "give one FILE"},
		{[]string{"backup", filepath.Join(dir, "b.db")}, map[string]string{"DATABASE_URL": db}, 1, "already exists"},
		{[]string{"backup", filepath.Join(dir, "x.db")}, map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1:1/db"}, 1, "use pg_dump"},
		{[]string{"backup", filepath.Join(dir, "y.db")}, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "none.db")}, 1, "cannot read the database"},
	} {
		code, _, errs := runCLI(t, tc.env, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("signpost %v: exit %d %q, want %d containing %q", tc.args, code, errs, tc.code, tc.msg)
		}
		if lines := strings.Split(strings.TrimSpace(errs), "\n"); !strings.HasPrefix(lines[len(lines)-1], "signpost: ") {
			t.Errorf("signpost %v: last stderr line %q is not the one-line error", tc.args, lines[len(lines)-1])
		}
	}
}
