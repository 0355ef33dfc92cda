package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// With ownership on, the audit log is the admins' (an admin's token needs
// the admin scope), on the API and in the UI, whose footer offers it only
// to them.
func TestAuditForAdmins(t *testing.T) {
	ts := newProxyServer(t, false)
	root, bo := as("root@x"), as("bo@x")
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://docs.example"}`, bo...); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	_, readOnly := ts.newToken(t, root, `{"name":"ro","scopes":["links:read"]}`)
	_, withAdmin := ts.newToken(t, root, `{"name":"audit","scopes":["links:read","admin"]}`)

	wantError(t, ts.do(t, "GET", "/api/v1/audit", ""), 401, links.Unauthorized, "sign in")
	wantError(t, ts.do(t, "GET", "/api/v1/audit", "", bo...), 403, links.Forbidden, "administrators")
	wantError(t, ts.do(t, "GET", "/api/v1/audit", "", bearer(readOnly)...), 403, links.Forbidden, "lacks the admin scope")
	for _, who := range [][]string{root, bearer(withAdmin)} {
		a := decode[struct {
			Changes []struct{ Action, Actor, Name string }
		}](t, ts.do(t, "GET", "/api/v1/audit", "", who...))
		if len(a.Changes) != 1 || a.Changes[0].Action != "create" || a.Changes[0].Actor != "bo@x" || a.Changes[0].Name != "docs" {
			t.Fatalf("audit log for %v: %+v", who, a.Changes)
		}
	}

	if r := ts.do(t, "GET", "/-/audit", "", root...); r.status != 200 || !strings.Contains(r.body, "docs") {
		t.Fatalf("audit page for an admin: %d %.300s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/-/audit", "", bo...); r.status != 403 {
		t.Fatalf("audit page for a user: %d", r.status)
	}
	for _, tt := range []struct {
		who  []string
		want bool
	}{{root, true}, {bo, false}, {nil, false}} {
		r := ts.do(t, "GET", "/-/", "", tt.who...)
		if got := strings.Contains(r.body, `href="/-/audit"`); r.status != 200 || got != tt.want {
			t.Errorf("home page for %v: %d, audit link %v, want %v", tt.who, r.status, got, tt.want)
		}
	}
}

// An API import takes the click counts and times in its lines only when an
// admin asks (?stats=true); anyone else asking is refused before the body
// is read, and nothing is imported.
func TestImportStatsForAdmins(t *testing.T) {
	ts := newProxyServer(t, false)
	root, bo := as("root@x"), as("bo@x")
	ndjson := func(name string) string {
		return `{"name":"` + name + `","url":"https://` + name + `.example","clicks":42,"last_clicked_at":"2025-03-04T05:06:07Z","created_at":"2024-01-02T03:04:05Z"}` + "\n"
	}
	post := func(query, body string, who []string) response {
		return ts.do(t, "POST", "/api/v1/import"+query, body, append([]string{"Content-Type", "application/x-ndjson"}, who...)...)
	}
	clicks := func(name string) (int64, string) {
		t.Helper()
		l := decode[struct {
			Clicks    int64
			CreatedAt string `json:"created_at"`
		}](t, ts.do(t, "GET", "/api/v1/links/"+name, ""))
		return l.Clicks, l.CreatedAt
	}

	wantError(t, post("?stats=true", ndjson("a"), bo), 403, links.Forbidden, "only admins may import click counts")
	if r := ts.do(t, "GET", "/api/v1/links/a", ""); r.status != 404 {
		t.Fatalf("a refused import stored a line: %d %s", r.status, r.body)
	}
	_, write := ts.newToken(t, root, `{"name":"w","scopes":["links:write"]}`)
	wantError(t, post("?stats=true", ndjson("a"), bearer(write)), 403, links.Forbidden, "lacks the admin scope")
	wantError(t, post("?stats=maybe", ndjson("a"), root), 400, links.Invalid, "stats must be true or false")
	wantError(t, post("?statistics=true", ndjson("a"), root), 400, links.Invalid, "unknown query parameter")

	if r := post("?stats=true", ndjson("a"), root); r.status != 200 {
		t.Fatalf("admin import with stats: %d %s", r.status, r.body)
	}
	if n, created := clicks("a"); n != 42 || created != "2024-01-02T03:04:05Z" {
		t.Fatalf("admin import with stats: %d clicks, created %s", n, created)
	}
	for _, who := range [][]string{root, bo} {
		name := "plain" + who[1][:2]
		if r := post("", ndjson(name), who); r.status != 200 {
			t.Fatalf("import without stats by %v: %d %s", who, r.status, r.body)
		}
		if n, created := clicks(name); n != 0 || created == "2024-01-02T03:04:05Z" {
			t.Fatalf("import without stats by %v: %d clicks, created %s", who, n, created)
		}
	}
}

// The history and deleted pages offer restore only to those who may
// restore (an edit of the link, live or as it was deleted), and tell the
// others why; the refusal itself is the service's.
func TestRestoreButtonsFollowOwnership(t *testing.T) {
	ts := newProxyServer(t, false)
	ana, bo, root := as("ana@x"), as("bo@x"), as("root@x")
	for _, name := range []string{"mine", "gone"} {
		if r := ts.do(t, "POST", "/api/v1/links", `{"name":"`+name+`","url":"https://`+name+`.example/v1"}`, ana...); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
		if r := ts.do(t, "PATCH", "/api/v1/links/"+name, `{"url":"https://`+name+`.example/v2"}`, ana...); r.status != 200 {
			t.Fatalf("update %s: %d %s", name, r.status, r.body)
		}
	}
	if r := ts.do(t, "DELETE", "/api/v1/links/gone", "", ana...); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	const button = "Restore this version"
	for _, tt := range []struct {
		who     []string
		path    string
		restore bool
	}{
		{ana, "/-/links/mine/history", true},
		{root, "/-/links/mine/history", true},
		{bo, "/-/links/mine/history", false},
		{nil, "/-/links/mine/history", false},
		{ana, "/-/links/gone/history", true},
		{bo, "/-/links/gone/history", false},
	} {
		r := ts.do(t, "GET", tt.path, "", tt.who...)
		if r.status != 200 || strings.Contains(r.body, button) != tt.restore {
			t.Errorf("%s for %v: %d, restore offered %v, want %v", tt.path, tt.who, r.status, !tt.restore, tt.restore)
		}
		if !tt.restore && !strings.Contains(r.body, `id="cannot-restore"`) {
			t.Errorf("%s for %v does not say why there is no restore", tt.path, tt.who)
		}
	}
	for _, tt := range []struct {
		who     []string
		restore bool
	}{{ana, true}, {root, true}, {bo, false}} {
		r := ts.do(t, "GET", "/-/deleted", "", tt.who...)
		if r.status != 200 || !strings.Contains(r.body, "go/gone") || strings.Contains(r.body, "Restore go/gone") != tt.restore {
			t.Errorf("deleted page for %v: %d, restore offered %v, want %v", tt.who, r.status, !tt.restore, tt.restore)
		}
	}
	// The form is refused all the same when posted by someone who may not.
	r := ts.do(t, "POST", "/-/links/gone/restore", "version=1", formHdr(bo)...)
	if r.status != 403 || !strings.Contains(r.body, "owned by ana@x") {
		t.Fatalf("restore form by a stranger: %d %.300s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/api/v1/links/gone", ""); r.status != 404 {
		t.Fatalf("the refused restore brought it back: %d", r.status)
	}
}

// golink's click statistics (text/csv, its /.export-stats) set the
// totals of the links already imported: admins only, with stats=true;
// bad lines all reported, nothing written.
func TestImportGolinkStatsForAdmins(t *testing.T) {
	ts := newProxyServer(t, false)
	root, bo := as("root@x"), as("bo@x")
	if r := ts.do(t, "POST", "/api/v1/import", `{"Short":"Foo-Bar","Long":"https://foo.example"}`+"\n"+`{"Short":"docs","Long":"https://docs.example"}`+"\n",
		append([]string{"Content-Type", "application/x-ndjson"}, root...)...); r.status != 200 {
		t.Fatalf("links import: %d %s", r.status, r.body)
	}
	post := func(query, body string, who []string) response {
		return ts.do(t, "POST", "/api/v1/import"+query, body, append([]string{"Content-Type", "text/csv"}, who...)...)
	}
	csv := "foobar,1700000000,3\nfoobar,1700000060,2\nother,1700000000,7\n"
	wantError(t, post("", csv, root), 400, links.Invalid, "send it with stats=true")
	wantError(t, post("?stats=true", csv, bo), 403, links.Forbidden, "only admins may import click counts")
	wantError(t, post("?stats=true", "foobar,1700000000,3\nfoobar,x,2\nbad\n", root), 400, links.Invalid, "2 bad lines")
	if r := ts.do(t, "GET", "/api/v1/links/foobar", ""); !strings.Contains(r.body, `"clicks":0`) {
		t.Fatalf("a refused stats import wrote: %s", r.body)
	}
	r := post("?stats=true", csv, root)
	if r.status != 200 || strings.TrimSpace(r.body) != `{"imported":1,"unknown":1}` {
		t.Fatalf("stats import: %d %s", r.status, r.body)
	}
	r = ts.do(t, "GET", "/api/v1/links/foo-bar", "")
	if !strings.Contains(r.body, `"clicks":5`) || !strings.Contains(r.body, `"last_clicked_at":"2023-11-14T22:14:20Z"`) || !strings.Contains(r.body, `"version":1`) {
		t.Fatalf("after the stats import: %s", r.body)
	}
	l, _ := ts.store.Get(context.Background(), "foobar")
	day := links.DayOf(time.Unix(1700000000, 0))
	if got, _ := ts.store.DailyClicks(context.Background(), l.ID, day-1, day+1); len(got) != 1 || got[0] != (links.DayClicks{Day: day, Clicks: 5}) {
		t.Fatalf("the stats import's days: %v", got)
	}
}
