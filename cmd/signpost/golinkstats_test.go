package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// golinkStats is what golink's /.export-stats serves (golink.go,
// serveExportStats, tailscale/golink c4eca52): "ID,unix seconds,clicks"
// for each link at each flush, IDs as golink's linkID makes them
// (path-escaped, lower case, no '-').
const golinkStats = `foobar,1700000000,3
foobar,1700000060,2
docs,1700000000,0
_underscore,1700000120,4
foobar,1700000030,1
elsewhere,1700000000,9
`

// A golink export and its stats import in one step: every link of the
// export that the stats name gets their sum as its click total, and the
// latest flush that counted a click as its last click.
func TestCLIImportGolinkStats(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + db}
	export := filepath.Join(dir, "export.ndjson")
	os.WriteFile(export, []byte(`{"Short":"Foo-Bar","Long":"https://foo.example","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-02T00:00:00Z","Owner":"a@example.com"}
{"Short":"docs","Long":"https://docs.example","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-02T00:00:00Z","Owner":"a@example.com"}
{"Short":"_underscore","Long":"https://u.example","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-02T00:00:00Z","Owner":""}
{"Short":"quiet","Long":"https://q.example","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-01-02T00:00:00Z","Owner":""}
`), 0o644)
	stats := filepath.Join(dir, "stats.csv")
	os.WriteFile(stats, []byte(golinkStats), 0o644)

	code, out, errs := runCLI(t, env, "import", "--dry-run", "--golink-stats", stats, export)
	if code != 0 || !strings.Contains(errs, "3 links would get their click totals from "+stats+"; 1 link IDs in it name no link of "+export) ||
		!strings.Contains(out, "4 new") {
		t.Fatalf("dry run: %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(db); err == nil {
		st := openTestStore(t, db)
		if n, _ := st.Count(context.Background(), links.ListOptions{}); n != 0 {
			t.Fatalf("the dry run wrote %d links", n)
		}
		st.Close()
	}
	code, _, errs = runCLI(t, env, "import", "--golink-stats", stats, export)
	if code != 0 || !strings.Contains(errs, "imported 4 links") || !strings.Contains(errs, "3 links got their click totals") {
		t.Fatalf("import: %d %s", code, errs)
	}
	st := openTestStore(t, db)
	want := map[string]struct {
		clicks int64
		last   time.Time
	}{
		"foobar":      {6, time.Unix(1700000060, 0).UTC()},
		"docs":        {0, time.Time{}}, // a row without clicks is no click
		"_underscore": {4, time.Unix(1700000120, 0).UTC()},
		"quiet":       {0, time.Time{}},
	}
	for key, w := range want {
		l, err := st.Get(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if l.Clicks != w.clicks || !l.LastClickedAt.Equal(w.last) {
			t.Errorf("%s: %d clicks, last %v; want %d, %v", key, l.Clicks, l.LastClickedAt, w.clicks, w.last)
		}
		if !l.CreatedAt.Equal(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)) || l.Version != 1 {
			t.Errorf("%s: created %v, version %d", key, l.CreatedAt, l.Version)
		}
	}
	// And golink's rows become the links' days (1700000000 is 14 Nov 2023).
	foo, _ := st.Get(context.Background(), "foobar")
	nov14 := links.DayOf(time.Unix(1700000000, 0))
	if got, _ := st.DailyClicks(context.Background(), foo.ID, nov14-5, nov14+5); !slices.Equal(got, []links.DayClicks{{Day: nov14, Clicks: 6}}) {
		t.Errorf("foobar's days: %v", got)
	}
	st.Close()

	// Alone, the stats set the totals of the stored links, again (a total,
	// not an increment), with no new version or history entry.
	os.WriteFile(stats, []byte("foobar,1700000500,10\nnope,1700000000,1\n"), 0o644)
	code, _, errs = runCLI(t, env, "import", "--golink-stats", stats)
	if code != 0 || !strings.Contains(errs, "1 links got their click totals from "+stats+"; 1 link IDs in it name no link stored") {
		t.Fatalf("stats alone: %d %s", code, errs)
	}
	st = openTestStore(t, db)
	defer st.Close()
	l, _ := st.Get(context.Background(), "foobar")
	if l.Clicks != 10 || !l.LastClickedAt.Equal(time.Unix(1700000500, 0).UTC()) || l.Version != 1 {
		t.Fatalf("foobar after the stats alone: %d clicks, last %v, version %d", l.Clicks, l.LastClickedAt, l.Version)
	}
	// Its days are replaced too: a second run changes nothing.
	if got, _ := st.DailyClicks(context.Background(), l.ID, nov14-5, nov14+5); !slices.Equal(got, []links.DayClicks{{Day: nov14, Clicks: 10}}) {
		t.Errorf("foobar's days after the stats alone: %v", got)
	}
	cs, _ := st.Changes(context.Background(), links.ChangeQuery{LinkID: l.ID})
	if len(cs) != 1 {
		t.Fatalf("the click import wrote history: %d entries", len(cs))
	}
}

// Bad stats lines are all reported, and nothing is imported.
func TestCLIImportGolinkStatsBadLines(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + db}
	export := filepath.Join(dir, "export.ndjson")
	os.WriteFile(export, []byte(`{"Short":"a","Long":"https://a.example"}`+"\n"), 0o644)
	stats := filepath.Join(dir, "stats.csv")
	os.WriteFile(stats, []byte("a,1700000000,1\na,1700000000\nb,soon,1\n\nc,1700000000,-4\n"), 0o644)
	code, _, errs := runCLI(t, env, "import", "--golink-stats", stats, export)
	if code == 0 {
		t.Fatalf("bad stats imported: %s", errs)
	}
	for _, want := range []string{stats + ":2: want ID,unix seconds,clicks", stats + ":3: time \"soon\"", stats + ":5: clicks must be from 0", "3 bad line(s) in " + stats + "; nothing was imported"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if st, err := sqlite.Open(context.Background(), db, sqlite.Options{}); err == nil {
		defer st.Close()
		if n, _ := st.Count(context.Background(), links.ListOptions{}); n != 0 {
			t.Fatalf("%d links imported despite bad stats", n)
		}
	}
}

func openTestStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
