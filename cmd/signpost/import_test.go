package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// import --dry-run says what would be new, updated and unchanged, and
// writes nothing; the import itself then records its changes under the
// operator's name.
func TestCLIImportDryRun(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dry.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + db}
	first := filepath.Join(dir, "first.ndjson")
	os.WriteFile(first, []byte(`{"name":"same","url":"https://same.example","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}
{"name":"edit","url":"https://old.example","description":"d","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}
{"name":"counts","url":"https://counts.example","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}
`), 0o644)
	if code, _, errs := runCLI(t, env, "import", first); code != 0 {
		t.Fatalf("first import: %d %s", code, errs)
	}
	second := filepath.Join(dir, "second.ndjson")
	os.WriteFile(second, []byte(`{"name":"same","url":"https://same.example","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}
{"name":"Edit","url":"https://new.example","description":"d","tags":["x"],"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}
{"name":"counts","url":"https://counts.example","clicks":5,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}
{"Short":"fresh","Long":"https://fresh.example"}
{"Short":"f","Long":"/fresh"}
{"name":"s","alias_of":"same"}
`), 0o644)
	state := func() string {
		t.Helper()
		st, err := sqlite.Open(context.Background(), db, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		v, _ := st.Version(context.Background())
		cs, _ := st.Changes(context.Background(), links.ChangeQuery{})
		var b strings.Builder
		st.Each(context.Background(), func(l links.Link) error { b.WriteString(l.Name + l.URL + l.Tags + " "); return nil })
		return fmt.Sprintf("v%d %d changes: %s", v, len(cs), b.String())
	}
	before := state()
	code, out, errs := runCLI(t, env, "import", "--dry-run", second)
	want := "new      fresh → https://fresh.example\n" +
		"new      f → alias of go/fresh\n" +
		"new      s → alias of go/same\n" +
		"updated  Edit: name, url, tags\n" +
		"dry run: 6 links in " + second + ": 3 new, 1 updated, 2 unchanged (1 of them with other clicks or times, which an import writes); nothing was written\n"
	if code != 0 || out != want {
		t.Fatalf("dry run: exit %d\n%s%s\nwant\n%s", code, out, errs, want)
	}
	if after := state(); after != before {
		t.Fatalf("the dry run wrote: %s, was %s", after, before)
	}
	if code, _, errs := runCLI(t, env, "import", second); code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	st, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Changes(context.Background(), links.ChangeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, string(c.Action)+" "+c.Name+" by "+c.Actor)
	}
	// First import: three new links; second: Edit changed, fresh new.
	if g := strings.Join(got, "; "); g != "import same by signpost import; import edit by signpost import; import counts by signpost import; import Edit by signpost import; import fresh by signpost import; import f by signpost import; import s by signpost import" {
		t.Fatalf("history after the imports: %s", g)
	}
}

// The import streams the file into its transaction: good lines written
// before a bad one (more than a chunk of them) are rolled back, and every
// bad line, the one after them included, is still reported.
func TestCLIImportStreamsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "stream.db")
	env := map[string]string{"DATABASE_URL": "sqlite:" + db}
	var b strings.Builder
	for i := 1; i <= 1500; i++ {
		switch i {
		case 700:
			b.WriteString("not json\n")
		case 1500:
			b.WriteString(`{"name":"l1","url":"https://again.example"}` + "\n")
		default:
			fmt.Fprintf(&b, `{"name":"l%d","url":"https://l.example/%d"}`+"\n", i, i)
		}
	}
	in := filepath.Join(dir, "in.ndjson")
	os.WriteFile(in, []byte(b.String()), 0o644)
	code, _, errs := runCLI(t, env, "import", in)
	want := in + ":700: not a JSON object: invalid character 'o' in literal null (expecting 'u') at byte 2\n" +
		in + ":1500: name \"l1\" repeats line 1\n" +
		"signpost: 2 bad line(s) in " + in + "; nothing was imported\n"
	if code != 1 || errs != want {
		t.Fatalf("import: exit %d\n%s\nwant\n%s", code, errs, want)
	}
	st, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.Count(context.Background(), links.ListOptions{}); n != 0 || err != nil {
		t.Fatalf("%d links stored (%v), want none", n, err)
	}
	if cs, err := st.Changes(context.Background(), links.ChangeQuery{}); len(cs) != 0 || err != nil {
		t.Fatalf("%d history entries (%v), want none", len(cs), err)
	}
}

// An alias whose target is neither in the file nor stored is a bad line,
// in a dry run as in the import, listed with the others.
func TestCLIImportDanglingAlias(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "a.db")}
	f := filepath.Join(dir, "in.ndjson")
	os.WriteFile(f, []byte(`{"name":"x","alias_of":"nowhere"}
{"name":"bad name","url":"https://x.example"}
{"Short":"ok","Long":"/x2"}
{"name":"x2","url":"https://x2.example"}
`), 0o644)
	for _, args := range [][]string{{"import", "--dry-run", f}, {"import", f}} {
		code, _, errs := runCLI(t, env, args...)
		if code == 0 || !strings.Contains(errs, f+":1: go/x is an alias of go/nowhere, which is neither in this file nor stored") || !strings.Contains(errs, f+":2:") || strings.Contains(errs, f+":3:") {
			t.Fatalf("%v: exit %d\n%s", args, code, errs)
		}
	}
}
