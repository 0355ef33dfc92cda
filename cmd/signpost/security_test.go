package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

func postNDJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := client.Post(url, "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getRecord(t *testing.T, url string) links.Record {
	t.Helper()
	resp, body := mustDo(t, "GET", url, "")
	var rec links.Record
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &rec) != nil {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return rec
}

// Issue 9, critical 3: one import line used to make the database
// unreadable (clicks + n overflowed into a REAL; from then on the pages,
// the export and the next start failed). Now the line is refused, a count
// at the maximum saturates, click counts come only from the operator, and
// rows an older version left broken are read or skipped, never fatal.
func TestOverflowLineCannotBreakTheDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "o.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + path}
	overflow := `{"name":"big","url":"https://big.com","clicks":9223372036854775807}` + "\n"

	// The operator's import refuses the line, naming it and the bound...
	file := filepath.Join(dir, "in.ndjson")
	os.WriteFile(file, []byte(overflow), 0o644)
	if code, _, errs := runCLI(t, env, "import", file); code != 1 || !strings.Contains(errs, "in.ndjson:1: clicks must be from 0 to 1000000000000000") {
		t.Fatalf("import of the overflow line: %d %q", code, errs)
	}
	// ...and takes the maximum.
	os.WriteFile(file, []byte(`{"name":"big","url":"https://big.com","clicks":1000000000000000}`+"\n"), 0o644)
	if code, _, errs := runCLI(t, env, "import", file); code != 0 {
		t.Fatalf("import at the maximum: %d %q", code, errs)
	}

	a := startRun(t, env)
	// Over the API the line is refused too, and the counts and times of
	// valid lines are not taken: big keeps its count, new links start at 0.
	if code, body := postNDJSON(t, a.URL+"/api/v1/import", overflow); code != 400 || !strings.Contains(body, "clicks must be from 0") {
		t.Fatalf("API import of the overflow line: %d %s", code, body)
	}
	code, body := postNDJSON(t, a.URL+"/api/v1/import", `{"name":"big","url":"https://big.example","clicks":7}
{"name":"viaapi","url":"https://api.example","clicks":42,"last_clicked_at":"2020-01-01T00:00:00Z","created_at":"2001-01-01T00:00:00Z"}
`)
	if code != 200 {
		t.Fatalf("API import: %d %s", code, body)
	}
	for range 3 {
		if resp, _ := mustDo(t, "GET", a.URL+"/big", ""); resp.StatusCode != 302 || resp.Header.Get("Location") != "https://big.example" {
			t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if err := a.stop(); err != nil { // the final flush adds 3 to the maximum
		t.Fatal(err)
	}

	// Rows an older version or a hand-edit left behind.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO links (key, name, url, clicks, created_at, updated_at) VALUES ('legacy', 'legacy', 'https://legacy.example', 9223372036854775807.0 + 9, 0, 0)`,
		`INSERT INTO links (key, name, url, clicks, created_at, updated_at) VALUES ('broken', 'broken', 'https://broken.example', 0, 'garbage', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	b := startRun(t, env)
	if rec := getRecord(t, b.URL+"/api/v1/links/big"); rec.Clicks != links.MaxClicks {
		t.Errorf("big has %d clicks after the restart, want the maximum %d", rec.Clicks, int64(links.MaxClicks))
	}
	if rec := getRecord(t, b.URL+"/api/v1/links/viaapi"); rec.Clicks != 0 || rec.LastClickedAt != nil || rec.CreatedAt.Year() == 2001 {
		t.Errorf("the API import set clicks or times: %+v", rec)
	}
	if rec := getRecord(t, b.URL+"/api/v1/links/legacy"); rec.Clicks != links.MaxClicks {
		t.Errorf("the overflowed row reads as %d clicks", rec.Clicks)
	}
	for _, p := range []string{"/-/", "/api/v1/links", "/api/v1/links?sort=popular", "/api/v1/export"} {
		resp, body := mustDo(t, "GET", b.URL+p, "")
		if resp.StatusCode != 200 {
			t.Errorf("GET %s after the restart: %d %s", p, resp.StatusCode, body)
		}
		if p == "/api/v1/export" && (strings.Count(body, "\n") != 3 || strings.Contains(body, "broken")) {
			t.Errorf("export = %q, want the three readable links", body)
		}
	}
	if resp, _ := mustDo(t, "GET", b.URL+"/legacy", ""); resp.StatusCode != 302 {
		t.Errorf("the overflowed link does not redirect: %d", resp.StatusCode)
	}
	_, metrics := mustDo(t, "GET", b.URL+"/metrics", "")
	if !strings.Contains(metrics, "signpost_store_rows_skipped_total ") || strings.Contains(metrics, "signpost_store_rows_skipped_total 0\n") {
		t.Errorf("no skipped row counted:\n%s", grepLines(metrics, "signpost_store"))
	}
	if !strings.Contains(b.Log.String(), `"key":"broken"`) {
		t.Errorf("the skipped row is not logged:\n%s", b.Log.String())
	}
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}

	// An operator's backup works too, and says what it left out.
	out := filepath.Join(dir, "backup.ndjson")
	code, _, errs := runCLI(t, env, "export", "--out", out)
	if code != 0 || !strings.Contains(errs, "exported 3 links") || !strings.Contains(errs, "skipped 1 stored links that cannot be read") {
		t.Fatalf("signpost export: %d %q", code, errs)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// `signpost export` reads a database it may not write: a read-only file
// in a read-only directory (a backup copy, a volume mounted read-only).
// As root, permissions do not bind, so the export runs as nobody.
func TestExportReadOnlyDatabase(t *testing.T) {
	dir, err := os.MkdirTemp("", "signpost-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755); os.RemoveAll(dir) })
	path := filepath.Join(dir, "ro.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + path}
	file := filepath.Join(dir, "in.ndjson")
	os.WriteFile(file, []byte(`{"name":"kept","url":"https://kept.example"}`+"\n"), 0o644)
	if code, _, errs := runCLI(t, env, "import", file); code != 0 {
		t.Fatalf("import: %d %q", code, errs)
	}
	before, _ := os.ReadFile(path)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}

	var out, errs string
	if os.Geteuid() == 0 {
		// The test binary's own directory is private to root.
		bin := filepath.Join(t.TempDir(), "signpost.test")
		if err := copyFile(os.Args[0], bin); err != nil {
			t.Fatal(err)
		}
		for d := filepath.Dir(bin); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		cmd := exec.Command(bin) // TestMain runs the export
		cmd.Env = append(os.Environ(), exportAsHelper+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("export as nobody: %v\n%s", err, b)
		}
		out = string(b)
	} else {
		var code int
		code, out, errs = runCLI(t, env, "export")
		if code != 0 {
			t.Fatalf("export: %d %q", code, errs)
		}
	}
	if !strings.Contains(out, `"name":"kept"`) {
		t.Fatalf("export of a read-only database:\n%s%s", out, errs)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Error("the export changed the database file")
	}
	if m, _ := filepath.Glob(path + "-*"); len(m) != 0 {
		t.Errorf("the export left %v", m)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// exportAsHelper, set in a test binary's environment to a database
// path, makes it run `signpost export` on that database instead of the
// tests: TestExportReadOnlyDatabase's export as another user. (A helper
// test would show as skipped in every other run, which CI refuses.)
const exportAsHelper = "SIGNPOST_TEST_EXPORT_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(exportAsHelper); path != "" {
		getenv := func(k string) string {
			if k == "DATABASE_URL" {
				return "sqlite:" + path
			}
			return ""
		}
		os.Exit(exitCode(run(context.Background(), []string{"signpost", "export"}, getenv, os.Stdout, os.Stderr), os.Stderr))
	}
	os.Exit(m.Run())
}
