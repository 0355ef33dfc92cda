package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body is not the JSON expected: %v\n%s", err, r.body)
	}
	return v
}

// GET carries the ETag; PUT, PATCH and DELETE honour If-Match, and a stale
// or foreign tag answers 412 with the link as it is now.
func TestAPIETagIfMatch(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://a.example")
	get := ts.do(t, "GET", "/api/v1/links/docs", "")
	v1 := get.header.Get("ETag")
	if !strings.HasPrefix(v1, `"`) || !strings.HasSuffix(v1, `.1"`) {
		t.Fatalf("ETag = %q, want a strong tag of version 1", v1)
	}
	if got := get.header.Get("Accept-Patch"); got != "application/merge-patch+json" {
		t.Errorf("Accept-Patch = %q", got)
	}
	// A matching If-Match writes, and answers the new ETag.
	r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"description":"first"}`, "If-Match", v1)
	if r.status != 200 {
		t.Fatalf("matching PATCH: %d %s", r.status, r.body)
	}
	v2 := r.header.Get("ETag")
	if v2 == v1 || ts.do(t, "GET", "/api/v1/links/docs", "").header.Get("ETag") != v2 {
		t.Fatalf("ETag after the write %q (was %q) is not what GET says", v2, v1)
	}
	// The same old tag now: 412, nothing written, the current value shown.
	for _, tc := range []struct{ method, body, tag string }{
		{"PUT", `{"url":"https://lost.example"}`, v1},
		{"PATCH", `{"description":"lost"}`, v1},
		{"PATCH", `{"description":"lost"}`, `"bogus"`},
		{"PATCH", `{"description":"lost"}`, `bogus`},
		{"PATCH", `{"description":"lost"}`, "W/" + v2}, // weak tags never match If-Match
		{"DELETE", "", v1},
	} {
		r := ts.do(t, tc.method, "/api/v1/links/docs", tc.body, "If-Match", tc.tag)
		wantError(t, r, http.StatusPreconditionFailed, links.Stale, "changed")
		body := decode[struct{ Current links.Record }](t, r)
		if body.Current.Description != "first" || r.header.Get("ETag") != v2 {
			t.Errorf("%s If-Match %s: 412 shows %+v with ETag %q, want the current link (%s)", tc.method, tc.tag, body.Current, r.header.Get("ETag"), v2)
		}
	}
	if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/docs", "")); got.Description != "first" || got.URL != "https://a.example" {
		t.Fatalf("a refused write changed the link: %+v", got)
	}
	// One of several tags, or *, matches.
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"description":"second"}`, "If-Match", v1+", "+v2); r.status != 200 {
		t.Fatalf("If-Match with the current tag among others: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"description":"third"}`, "If-Match", "*"); r.status != 200 {
		t.Fatalf("If-Match *: %d %s", r.status, r.body)
	}
	cur := ts.do(t, "GET", "/api/v1/links/docs", "").header.Get("ETag")
	if r := ts.do(t, "DELETE", "/api/v1/links/docs", "", "If-Match", cur); r.status != 204 {
		t.Fatalf("DELETE with the current tag: %d %s", r.status, r.body)
	}
	// A link deleted and created again under the same name has a new ID:
	// the old link's tags do not match it.
	ts.create(t, "docs", "https://again.example")
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/docs", `{"description":"x"}`, "If-Match", v1), 412, links.Stale, "")
}

func TestAPIMergePatch(t *testing.T) {
	ts := newTestServer(t, false)
	r := ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://a.example","description":"d","owner":"ann","tags":["x","y"]}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	rec := decode[links.Record](t, r)
	// null removes (clears) a member; absent ones stay.
	r = ts.do(t, "PATCH", "/api/v1/links/docs", `{"description":null,"tags":null}`, "Content-Type", "application/merge-patch+json")
	got := decode[links.Record](t, r)
	if r.status != 200 || got.Description != "" || len(got.Tags) != 0 || got.Owner != "ann" || got.URL != "https://a.example" {
		t.Fatalf("null members: %d %+v", r.status, got)
	}
	// A record as GET shows it may go back: read-only members are ignored.
	rec.Description = "from a GET"
	b, _ := json.Marshal(rec)
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", string(b)); r.status != 200 || decode[links.Record](t, r).Description != "from a GET" {
		t.Fatalf("patch with a whole record: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "PUT", "/api/v1/links/docs", string(b)); r.status != 200 {
		t.Fatalf("put with a whole record: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		body, ctype string
		status      int
		code        links.Code
		msg         string
	}{
		{`{"name":null}`, "", 400, links.Invalid, "name cannot be removed"},
		{`{"url":null}`, "", 400, links.Invalid, "url cannot be removed"},
		{`{"colour":"red"}`, "", 400, links.Invalid, `unknown field "colour"`},
		{`{"tags":"x"}`, "", 400, links.Invalid, "tags must be a list"},
		{`{"description":5}`, "", 400, links.Invalid, "description must be a string"},
		{`[1]`, "", 400, links.Invalid, "not valid JSON"},
		{`null`, "", 400, links.Invalid, "a JSON object"},
		{`[{"op":"replace"}]`, "application/json-patch+json", 415, links.UnsupportedMediaType, "merge patch"},
		{`{"description":"x"}`, "text/plain", 415, links.UnsupportedMediaType, "merge patch"},
		{`{"tags":["Bad!"]}`, "", 400, links.Invalid, "contains"},
	} {
		hdr := []string{}
		if tc.ctype != "" {
			hdr = []string{"Content-Type", tc.ctype}
		}
		wantError(t, ts.do(t, "PATCH", "/api/v1/links/docs", tc.body, hdr...), tc.status, tc.code, tc.msg)
	}
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/nope", `{"description":"x"}`), 404, links.NotFound, "")
}

func TestAPIListCursors(t *testing.T) {
	ts := newTestServer(t, false)
	const n = 23
	for i := range n {
		tags := `["all"]`
		if i%3 == 0 {
			tags = `["all","third"]`
		}
		r := ts.do(t, "POST", "/api/v1/links", fmt.Sprintf(`{"name":"l%02d","url":"https://x.example/%d","tags":%s}`, i, i, tags))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	type listBody struct {
		Links []links.Record
		Total int
		Next  *string
	}
	walk := func(query string) (names []string, totals []int) {
		t.Helper()
		q := query
		for range 100 {
			r := ts.do(t, "GET", "/api/v1/links?"+q, "")
			if r.status != 200 {
				t.Fatalf("list %s: %d %s", q, r.status, r.body)
			}
			b := decode[listBody](t, r)
			for _, l := range b.Links {
				names = append(names, l.Name)
			}
			totals = append(totals, b.Total)
			if b.Next == nil {
				if strings.Contains(r.body, `"next"`) {
					t.Fatalf("last page has a next member: %s", r.body)
				}
				return
			}
			q = query + "&cursor=" + url.QueryEscape(*b.Next)
		}
		t.Fatal("more than 100 pages")
		return
	}
	names, totals := walk("limit=5")
	if len(names) != n || names[0] != "l00" || names[n-1] != "l22" || len(totals) != 5 {
		t.Fatalf("pages of 5: %d names %v over %d pages", len(names), names, len(totals))
	}
	for _, tot := range totals {
		if tot != n {
			t.Fatalf("totals %v, want %d on every page", totals, n)
		}
	}
	third, totals := walk("limit=2&tag=third&sort=last_changed")
	if len(third) != 8 || totals[0] != 8 {
		t.Fatalf("tag=third: %v, totals %v", third, totals)
	}
	if q, _ := walk("q=tag:third+l0&limit=50"); fmt.Sprint(q) != "[l00 l03 l06 l09]" {
		t.Fatalf("q=tag:third l0: %v", q)
	}
	// No silent cap: everything comes back, page by page (no limit 1000 stop).
	if all, _ := walk("limit=1000"); len(all) != n {
		t.Fatalf("limit=1000: %d", len(all))
	}
	for _, tc := range []struct{ q, msg string }{
		{"offset=10", "offset is not supported"},
		{"page=2", `unknown query parameter "page"`},
		{"sort=name&sort=clicks", "given 2 times"},
		{"cursor=garbage!", "cursor is not one"},
		{"limit=0", "limit must be"},
		{"limit=1001", "limit must be"},
		{"sort=best", "sort must be"},
	} {
		wantError(t, ts.do(t, "GET", "/api/v1/links?"+tc.q, ""), 400, links.Invalid, tc.msg)
	}
	// A cursor belongs to its listing.
	b := decode[listBody](t, ts.do(t, "GET", "/api/v1/links?limit=2", ""))
	wantError(t, ts.do(t, "GET", "/api/v1/links?limit=2&sort=clicks&cursor="+url.QueryEscape(*b.Next), ""), 400, links.Invalid, "another sort")
	wantError(t, ts.do(t, "GET", "/api/v1/links?limit=2&tag=third&cursor="+url.QueryEscape(*b.Next), ""), 400, links.Invalid, "other filters")
}

func TestAPIHistoryRestore(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://v1.example")
	ts.do(t, "PATCH", "/api/v1/links/docs", `{"url":"https://v2.example"}`)
	ts.do(t, "PATCH", "/api/v1/links/docs", `{"name":"Manual"}`)
	type hist struct {
		History []struct {
			Version int64
			Action  string
			Name    string
			Before  *links.Values
			After   *links.Values
		}
		Next *string
	}
	h := decode[hist](t, ts.do(t, "GET", "/api/v1/links/manual/history", ""))
	var got []string
	for _, c := range h.History {
		got = append(got, fmt.Sprintf("%d %s %s", c.Version, c.Action, c.Name))
	}
	if fmt.Sprint(got) != "[3 rename Manual 2 update docs 1 create docs]" || h.History[1].Before.URL != "https://v1.example" {
		t.Fatalf("history: %v", got)
	}
	// Paged: one at a time, newest first.
	p1 := decode[hist](t, ts.do(t, "GET", "/api/v1/links/manual/history?limit=1", ""))
	p2 := decode[hist](t, ts.do(t, "GET", "/api/v1/links/manual/history?limit=1&cursor="+*p1.Next, ""))
	if p1.History[0].Version != 3 || p2.History[0].Version != 2 || p2.Next == nil {
		t.Fatalf("paged history: %+v %+v", p1, p2)
	}
	// Restore version 1: the name and URL it had.
	r := ts.do(t, "POST", "/api/v1/links/manual/restore", `{"version":1}`)
	if rec := decode[links.Record](t, r); r.status != 200 || rec.Name != "docs" || rec.URL != "https://v1.example" || rec.Version != 4 {
		t.Fatalf("restore: %d %s", r.status, r.body)
	}
	if loc := ts.do(t, "GET", "/docs", "").header.Get("Location"); loc != "https://v1.example" {
		t.Fatalf("after restore go/docs → %q", loc)
	}
	if h := decode[hist](t, ts.do(t, "GET", "/api/v1/links/docs/history?limit=1", "")); h.History[0].Action != "restore" {
		t.Fatalf("restore not recorded: %+v", h.History[0])
	}
	// Delete, find it in deleted, bring it back.
	if r := ts.do(t, "DELETE", "/api/v1/links/docs", ""); r.status != 204 {
		t.Fatal(r.status)
	}
	del := decode[struct {
		Deleted []struct {
			Name    string
			Version int64
		}
	}](t, ts.do(t, "GET", "/api/v1/deleted", ""))
	if len(del.Deleted) != 1 || del.Deleted[0].Name != "docs" || del.Deleted[0].Version != 5 {
		t.Fatalf("deleted: %+v", del)
	}
	if h := decode[hist](t, ts.do(t, "GET", "/api/v1/links/docs/history", "")); len(h.History) != 5 || h.History[0].Action != "delete" {
		t.Fatalf("a deleted link's history: %+v", h)
	}
	wantError(t, ts.do(t, "POST", "/api/v1/links/docs/restore", `{"version":5}`), 400, links.Invalid, "is its deletion")
	wantError(t, ts.do(t, "POST", "/api/v1/links/docs/restore", `{"version":99}`), 404, links.NotFound, "no version 99")
	wantError(t, ts.do(t, "POST", "/api/v1/links/docs/restore", `{}`), 400, links.Invalid, "which version")
	wantError(t, ts.do(t, "POST", "/api/v1/links/docs/restore", `{"version":2,"x":1}`), 400, links.Invalid, "unknown field")
	wantError(t, ts.do(t, "POST", "/api/v1/links/docs/restore", `{"version":2}`, "Content-Type", "text/plain"), 415, links.UnsupportedMediaType, "application/json")
	r = ts.do(t, "POST", "/api/v1/links/docs/restore", `{"version":2}`)
	if rec := decode[links.Record](t, r); r.status != 200 || rec.URL != "https://v2.example" || rec.Version != 6 {
		t.Fatalf("undelete: %d %s", r.status, r.body)
	}
	if ts.do(t, "GET", "/docs", "").status != 302 {
		t.Fatal("restored link does not redirect")
	}
	if del := decode[struct{ Deleted []any }](t, ts.do(t, "GET", "/api/v1/deleted", "")); len(del.Deleted) != 0 {
		t.Fatalf("restored link still listed as deleted: %+v", del)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/links/never/history", ""), 404, links.NotFound, "")
	wantError(t, ts.do(t, "POST", "/api/v1/links/never/restore", `{"version":1}`), 404, links.NotFound, "")
}

func TestAPIAudit(t *testing.T) {
	ts := newTestServer(t, false)
	for _, n := range []string{"a", "b", "c"} {
		ts.create(t, n, "https://"+n+".example")
	}
	ts.do(t, "DELETE", "/api/v1/links/b", "")
	type audit struct {
		Changes []struct {
			Seq    int64
			Action string
			Name   string
		}
		Next *string
	}
	var seen []string
	q := "limit=3"
	for range 10 {
		a := decode[audit](t, ts.do(t, "GET", "/api/v1/audit?"+q, ""))
		for _, c := range a.Changes {
			seen = append(seen, c.Action+" "+c.Name)
		}
		if a.Next == nil {
			break
		}
		q = "limit=3&cursor=" + *a.Next
	}
	if fmt.Sprint(seen) != "[create a create b create c delete b]" {
		t.Fatalf("audit log: %v", seen)
	}
	if a := decode[audit](t, ts.do(t, "GET", "/api/v1/audit?since=2999-01-01T00:00:00Z", "")); len(a.Changes) != 0 {
		t.Fatalf("since the future: %+v", a)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/audit?since=yesterday", ""), 400, links.Invalid, "RFC 3339")
	wantError(t, ts.do(t, "GET", "/api/v1/audit?user=x", ""), 400, links.Invalid, "unknown query parameter")

	// With ownership on, only admins read it, and ann is none.
	px := newTestServer(t, true)
	wantError(t, px.do(t, "GET", "/api/v1/audit", "", "X-Forwarded-Email", "ann@x"), 403, links.Forbidden, "administrators")
	if r := px.do(t, "GET", "/-/audit", "", "X-Forwarded-Email", "ann@x"); r.status != 403 {
		t.Fatalf("audit page with ownership on: %d", r.status)
	}
	// The footer offers the audit log only to those it lets in.
	if r := px.do(t, "GET", "/-/", "", "X-Forwarded-Email", "ann@x"); strings.Contains(r.body, `href="/-/audit"`) {
		t.Error("the footer links to an audit log this user may not read")
	}
	if r := ts.do(t, "GET", "/-/", ""); !strings.Contains(r.body, `href="/-/audit"`) {
		t.Error("the footer does not link to the audit log")
	}
}

// Each change is one structured log line: actor, action, link.
func TestChangeLogLines(t *testing.T) {
	var buf bytes.Buffer
	ts := newTestServerWith(t, true, slog.New(slog.NewJSONHandler(&buf, nil)))
	ann := []string{"X-Forwarded-Email", "ann@x"}
	ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://a.example"}`, ann...)
	ts.do(t, "PATCH", "/api/v1/links/docs", `{"name":"manual"}`, ann...)
	ts.do(t, "DELETE", "/api/v1/links/manual", "", ann...)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "link changed" {
			got = append(got, fmt.Sprintf("%v %v %v", m["actor"], m["action"], m["link"]))
		}
	}
	if fmt.Sprint(got) != "[ann@x create docs ann@x rename manual ann@x delete manual]" {
		t.Fatalf("change log lines: %q\nlog:\n%s", got, buf.String())
	}
}

var versionField = regexp.MustCompile(`name="version" value="([^"]*)"`)

func (ts *testServer) form(t *testing.T, path string, v url.Values) response {
	t.Helper()
	return ts.do(t, "POST", path, v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

// Two tabs on one link: the second save does not overwrite the first; it
// shows the other change and keeps its own edit for a deliberate retry.
func TestUIStaleEdit(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://a.example")
	page := ts.do(t, "GET", "/-/links/docs", "")
	m := versionField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("edit form carries no version:\n%s", page.body)
	}
	loaded := m[1]
	edit := func(desc, version string) response {
		return ts.form(t, "/-/links/docs", url.Values{"name": {"docs"}, "url": {"https://a.example"}, "description": {desc}, "owner": {""}, "tags": {""}, "version": {version}})
	}
	if r := edit("from tab one", loaded); r.status != 303 {
		t.Fatalf("first save: %d %s", r.status, r.body)
	}
	r := edit("from tab two", loaded)
	if r.status != http.StatusConflict {
		t.Fatalf("stale save: %d, want 409", r.status)
	}
	for _, want := range []string{"Someone else changed go/docs", "from tab one", `>from tab two</textarea>`, "Nothing was saved"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("stale page lacks %q", want)
		}
	}
	if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/docs", "")); got.Description != "from tab one" {
		t.Fatalf("the stale save overwrote: %q", got.Description)
	}
	// The form now carries the current version: saving again is deliberate.
	again := versionField.FindStringSubmatch(r.body)
	if again == nil || again[1] == loaded {
		t.Fatalf("stale page's form version %v, want the current one", again)
	}
	if r := edit("from tab two", again[1]); r.status != 303 {
		t.Fatalf("deliberate save: %d %s", r.status, r.body)
	}
	if got := decode[links.Record](t, ts.do(t, "GET", "/api/v1/links/docs", "")); got.Description != "from tab two" {
		t.Fatalf("after the deliberate save: %q", got.Description)
	}
	// A delete from a stale page is refused the same way.
	r = ts.form(t, "/-/links/docs/delete", url.Values{"version": {loaded}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "Nothing was deleted") {
		t.Fatalf("stale delete: %d", r.status)
	}
	if ts.do(t, "GET", "/docs", "").status != 302 {
		t.Fatal("a stale delete deleted")
	}
}

func TestUIHistoryRestoreDeleted(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://v1.example")
	ts.do(t, "PATCH", "/api/v1/links/docs", `{"url":"https://v2.example","tags":["t"]}`)
	h := ts.do(t, "GET", "/-/links/docs/history", "")
	for _, want := range []string{"History of go/docs", "Version 2", "update", "https://v1.example", "https://v2.example", "Restore this version", `<span class="badge">current</span>`} {
		if !strings.Contains(h.body, want) {
			t.Errorf("history page lacks %q", want)
		}
	}
	r := ts.form(t, "/-/links/docs/restore", url.Values{"version": {"1"}})
	if r.status != 303 || r.header.Get("Location") != "/-/links/docs?restored=1" {
		t.Fatalf("restore: %d %v", r.status, r.header)
	}
	if p := ts.do(t, "GET", "/-/links/docs?restored=1", ""); !strings.Contains(p.body, "Restored version 1.") {
		t.Error("no flash after restore")
	}
	if loc := ts.do(t, "GET", "/docs", "").header.Get("Location"); loc != "https://v1.example" {
		t.Fatalf("after restore: %q", loc)
	}
	if r := ts.form(t, "/-/links/docs/delete", url.Values{}); r.status != 303 {
		t.Fatalf("delete: %d", r.status)
	}
	d := ts.do(t, "GET", "/-/deleted", "")
	if !strings.Contains(d.body, "go/docs") || !strings.Contains(d.body, `action="/-/links/docs/restore"`) || !strings.Contains(d.body, `name="version" value="3"`) {
		t.Fatalf("deleted page:\n%s", d.body)
	}
	// The page of a deleted link leads to its history.
	if r := ts.do(t, "GET", "/-/links/docs", ""); r.status != 302 || r.header.Get("Location") != "/-/links/docs/history" {
		t.Fatalf("page of a deleted link: %d %v", r.status, r.header)
	}
	if r := ts.form(t, "/-/links/docs/restore", url.Values{"version": {"3"}}); r.status != 303 {
		t.Fatalf("undelete: %d %s", r.status, r.body)
	}
	if ts.do(t, "GET", "/docs", "").status != 302 || strings.Contains(ts.do(t, "GET", "/-/deleted", "").body, "go/docs") {
		t.Fatal("undeleted link not back, or still listed as deleted")
	}
	if r := ts.form(t, "/-/links/docs/restore", url.Values{"version": {"x"}}); r.status != 400 {
		t.Fatalf("restore without a version: %d", r.status)
	}
}

// A link created before history was kept can still go back to that
// version: the first change recorded what it was.
func TestUIRestoreVersionFromBeforeHistory(t *testing.T) {
	ts := newTestServer(t, false)
	// An import without an actor stands for links the migration found.
	if err := ts.store.Import(context.Background(), links.All([]links.Link{{Name: "old", Key: "old", URL: "https://orig.example", Version: 1}}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.DB().Exec(`DELETE FROM link_history`); err != nil { // as before migration 00005
		t.Fatal(err)
	}
	ts.index.Load(context.Background(), ts.store)
	ts.do(t, "PATCH", "/api/v1/links/old", `{"url":"https://changed.example"}`)
	h := ts.do(t, "GET", "/-/links/old/history", "")
	if !strings.Contains(h.body, "from before its history was kept") {
		t.Fatalf("history lacks the version from before history:\n%s", h.body)
	}
	if r := ts.form(t, "/-/links/old/restore", url.Values{"version": {"1"}}); r.status != 303 {
		t.Fatalf("restore v1: %d %s", r.status, r.body)
	}
	if loc := ts.do(t, "GET", "/old", "").header.Get("Location"); loc != "https://orig.example" {
		t.Fatalf("after restoring v1: %q", loc)
	}
}

func TestUIDirectory(t *testing.T) {
	ts := newTestServer(t, false)
	var body strings.Builder
	for i := range 60 {
		tag, owner := "even", "ann@x"
		if i%2 == 1 {
			tag, owner = "odd", "bob@x"
		}
		fmt.Fprintf(&body, `{"name":"l%02d","url":"https://x.example/%d","tags":[%q],"owner":%q}`+"\n", i, i, tag, owner)
	}
	if r := ts.do(t, "POST", "/api/v1/import", body.String(), "Content-Type", "application/x-ndjson"); r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	// An API import takes no click counts: count the clicks as redirects do.
	var cs []links.Click
	for i := 1; i < 60; i++ {
		cs = append(cs, links.Click{Key: fmt.Sprintf("l%02d", i), N: int64(i), Last: time.Now()})
	}
	if err := ts.store.AddClicks(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	r := ts.do(t, "GET", "/-/links", "")
	if !strings.Contains(r.body, "60 links") || strings.Count(r.body, `class="go"`) != 50 || !strings.Contains(r.body, `id="next-page"`) {
		t.Fatalf("first page: 60 links, 50 shown and a next page expected")
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(r.body)
	r2 := ts.do(t, "GET", html.UnescapeString(next[1]), "")
	if strings.Count(r2.body, `class="go"`) != 10 || strings.Contains(r2.body, `id="next-page"`) || !strings.Contains(r2.body, "l59") {
		t.Fatalf("second page: %d links", strings.Count(r2.body, `class="go"`))
	}
	r = ts.do(t, "GET", "/-/links?tag=odd&owner=bob@x&sort=clicks", "")
	if !strings.Contains(r.body, "30 links") || !strings.Contains(r.body, "<strong aria-current=\"true\">clicks</strong>") {
		t.Fatalf("filtered: %s", regexp.MustCompile(`id="total">[^<]*`).FindString(r.body))
	}
	if i, j := strings.Index(r.body, "go/l59"), strings.Index(r.body, "go/l57"); i < 0 || j < i {
		t.Error("sort by clicks does not put l59 (59 clicks) before l57")
	}
	if r := ts.do(t, "GET", "/-/links?tag=nope", ""); !strings.Contains(r.body, "No links match these filters") {
		t.Error("empty filter result")
	}
	if r := ts.do(t, "GET", "/-/links?sort=best", ""); r.status != 400 {
		t.Errorf("bad sort: %d", r.status)
	}
	// The home page's search states the true total and leads to the rest.
	r = ts.do(t, "GET", "/-/?q=l", "")
	if !strings.Contains(r.body, "60 results, the 50 most used shown") || !strings.Contains(r.body, "all 60 in the directory") {
		t.Fatalf("search total: %s", regexp.MustCompile(`id="total">[^\n]*`).FindString(r.body))
	}
	if r := ts.do(t, "GET", "/-/?q=tag:odd", ""); !strings.Contains(r.body, "30 results") {
		t.Error("search tag:odd")
	}
	if r := ts.do(t, "GET", "/-/", ""); !strings.Contains(r.body, `href="/-/links"`) || !strings.Contains(r.body, "Popular") {
		t.Error("home page lacks popular links or the directory link")
	}
}
