package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

func record(t *testing.T, r response) links.Record {
	t.Helper()
	var rec links.Record
	if err := json.Unmarshal([]byte(r.body), &rec); err != nil {
		t.Fatalf("not a link: %d %s", r.status, r.body)
	}
	return rec
}

func wantLocation(t *testing.T, ts *testServer, path, want string) {
	t.Helper()
	if r := ts.do(t, "GET", path, ""); r.status != 302 || r.header.Get("Location") != want {
		t.Fatalf("GET %s = %d %q, want 302 %q", path, r.status, r.header.Get("Location"), want)
	}
}

// The API creates, reads, changes and ends aliases; an alias redirects in
// one hop with its target's URL, path and query passed through, and
// follows its target's rename and edit at once.
func TestAPIAliases(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "kubernetes", "https://k8s.example/docs")
	r := ts.do(t, "POST", "/api/v1/links", `{"name":"k8s","alias_of":"Kubernetes"}`)
	if r.status != 201 {
		t.Fatalf("create alias: %d %s", r.status, r.body)
	}
	if rec := record(t, r); rec.AliasOf != "kubernetes" || rec.URL != "" {
		t.Fatalf("created alias = %+v", rec)
	}
	wantLocation(t, ts, "/k8s/a/b?x=1", "https://k8s.example/docs/a/b?x=1")
	wantLocation(t, ts, "/K8S.", "https://k8s.example/docs")
	if rec := record(t, ts.do(t, "GET", "/api/v1/links/kubernetes", "")); strings.Join(rec.Aliases, ",") != "k8s" {
		t.Fatalf("target's aliases = %q", rec.Aliases)
	}

	// The target renamed (PATCH) and edited: the alias follows, unchanged.
	if r := ts.do(t, "PATCH", "/api/v1/links/kubernetes", `{"name":"kube","url":"https://kube.example"}`); r.status != 200 {
		t.Fatalf("rename target: %d %s", r.status, r.body)
	}
	wantLocation(t, ts, "/k8s/x", "https://kube.example/x")
	rec := record(t, ts.do(t, "GET", "/api/v1/links/k8s", ""))
	if rec.AliasOf != "kube" || rec.Version != 1 {
		t.Fatalf("alias after its target's rename = %+v", rec)
	}

	// Refusals, at the field, with the reason.
	wantError(t, ts.do(t, "POST", "/api/v1/links", `{"name":"chain","alias_of":"k8s"}`), 400, links.Invalid, "go/k8s is an alias of go/kube itself")
	wantError(t, ts.do(t, "POST", "/api/v1/links", `{"name":"x","alias_of":"nowhere"}`), 400, links.Invalid, "there is no go/nowhere")
	wantError(t, ts.do(t, "POST", "/api/v1/links", `{"name":"x","alias_of":"x"}`), 400, links.Invalid, "cannot be an alias of itself")
	wantError(t, ts.do(t, "POST", "/api/v1/links", `{"name":"x","url":"https://x.example","alias_of":"kube"}`), 400, links.Invalid, "has no URL of its own")
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/kube", `{"alias_of":"k8s"}`), 400, links.Invalid, "go/k8s is an alias of go/kube itself")
	wantError(t, ts.do(t, "DELETE", "/api/v1/links/kube", ""), 409, links.Conflict, "go/kube has aliases (go/k8s)")
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/k8s", `{"leave_alias":"yes"}`), 400, links.Invalid, "leave_alias must be true or false")

	// PATCH with a URL ends the alias; PATCH with alias_of makes one again
	// (and drops the URL); PUT replaces, so alias_of left out ends it.
	if rec := record(t, ts.do(t, "PATCH", "/api/v1/links/k8s", `{"url":"https://own.example"}`)); rec.AliasOf != "" || rec.URL != "https://own.example" {
		t.Fatalf("PATCH url on an alias = %+v", rec)
	}
	if rec := record(t, ts.do(t, "PATCH", "/api/v1/links/k8s", `{"alias_of":"kube"}`, "Content-Type", "application/merge-patch+json")); rec.AliasOf != "kube" || rec.URL != "" {
		t.Fatalf("PATCH alias_of = %+v", rec)
	}
	wantError(t, ts.do(t, "PUT", "/api/v1/links/k8s", `{"description":"neither"}`), 400, links.Invalid, "url is required")
	if rec := record(t, ts.do(t, "PUT", "/api/v1/links/k8s", `{"url":"https://put.example"}`)); rec.AliasOf != "" {
		t.Fatalf("PUT without alias_of = %+v", rec)
	}
	if rec := record(t, ts.do(t, "PUT", "/api/v1/links/k8s", `{"alias_of":"kube","description":"short"}`)); rec.AliasOf != "kube" || rec.Description != "short" {
		t.Fatalf("PUT alias_of = %+v", rec)
	}

	// The history shows the alias changes.
	var h struct {
		Changes []struct {
			After *links.Values `json:"after"`
		} `json:"history"`
	}
	hr := ts.do(t, "GET", "/api/v1/links/k8s/history", "")
	if err := json.Unmarshal([]byte(hr.body), &h); err != nil {
		t.Fatalf("history: %d %s", hr.status, hr.body)
	}
	var ofs []string
	for _, c := range h.Changes {
		ofs = append(ofs, c.After.AliasOf)
	}
	// Newest first: create, PATCH url, PATCH alias_of, PUT url, PUT alias_of.
	if got := strings.Join(ofs, ","); got != "kube,,kube,,kubernetes" {
		t.Fatalf("history's alias_of values = %q", got)
	}

	// Deleting the alias lets the target go.
	if r := ts.do(t, "DELETE", "/api/v1/links/k8s", ""); r.status != 204 {
		t.Fatalf("delete alias: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "DELETE", "/api/v1/links/kube", ""); r.status != 204 {
		t.Fatalf("delete target: %d %s", r.status, r.body)
	}
}

// A rename may leave an alias under the old name (leave_alias), so that
// old links keep working; without it the old name is gone. Renaming an
// alias leaves an alias of its target (no chain).
func TestAPIRenameLeavesAlias(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"name":"handbook","leave_alias":true}`); r.status != 200 {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	wantLocation(t, ts, "/docs/x?y=1", "https://docs.example/x?y=1")
	if rec := record(t, ts.do(t, "GET", "/api/v1/links/docs", "")); rec.AliasOf != "handbook" {
		t.Fatalf("the old name = %+v", rec)
	}
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"name":"old-docs","leave_alias":true}`); r.status != 200 {
		t.Fatalf("rename alias: %d %s", r.status, r.body)
	}
	for _, n := range []string{"docs", "old-docs"} {
		if rec := record(t, ts.do(t, "GET", "/api/v1/links/"+n, "")); rec.AliasOf != "handbook" {
			t.Fatalf("go/%s = %+v, want an alias of handbook", n, rec)
		}
	}
	if r := ts.do(t, "PUT", "/api/v1/links/handbook", `{"name":"guide","url":"https://docs.example"}`); r.status != 200 {
		t.Fatalf("rename without leave_alias: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/handbook", ""); r.status != 404 {
		t.Fatalf("GET /handbook after a rename without leave_alias = %d", r.status)
	}
	wantLocation(t, ts, "/docs", "https://docs.example") // its aliases followed
}

// Export writes alias_of, and importing the export into an empty server
// gives the same answers.
func TestExportImportAliases(t *testing.T) {
	src := newTestServer(t, false)
	src.create(t, "zeta", "https://z.example/{{.Path}}")
	if r := src.do(t, "POST", "/api/v1/links", `{"name":"alpha","alias_of":"zeta"}`); r.status != 201 {
		t.Fatal(r.body)
	}
	exp := src.do(t, "GET", "/api/v1/export", "")
	if !strings.Contains(exp.body, `"alias_of":"zeta"`) {
		t.Fatalf("export lacks alias_of: %s", exp.body)
	}
	dst := newTestServer(t, false)
	if r := dst.do(t, "POST", "/api/v1/import", exp.body, "Content-Type", "application/x-ndjson"); r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	wantLocation(t, dst, "/alpha/p", "https://z.example/p")
	// A target that is neither in the file nor stored is a bad line,
	// listed with the others.
	bad := `{"name":"b1","alias_of":"missing"}
{"name":"b 2","url":"https://x.example"}
{"name":"b3","alias_of":"alpha"}
`
	r := dst.do(t, "POST", "/api/v1/import", bad, "Content-Type", "application/x-ndjson")
	if r.status != 400 || !strings.Contains(r.body, `"line":1,"reason":"go/b1 is an alias of go/missing, which is neither in this file nor stored"`) ||
		!strings.Contains(r.body, `"line":2`) || !strings.Contains(r.body, `"bad_lines":2`) {
		t.Fatalf("import of bad alias lines: %d %s", r.status, r.body)
	}
}

// The new and edit forms make and end aliases, and a rename in the edit
// form leaves an alias under the old name unless its box is unticked.
func TestFormAliases(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "kubernetes", "https://k8s.example")
	post := func(path string, v url.Values) response {
		t.Helper()
		return ts.do(t, "POST", path, v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	}
	if r := post("/-/links", url.Values{"name": {"k8s"}, "url": {""}, "alias_of": {"kubernetes"}}); r.status != 303 {
		t.Fatalf("create alias by form: %d %s", r.status, r.body)
	}
	wantLocation(t, ts, "/k8s/pods", "https://k8s.example/pods")
	for path, want := range map[string]string{
		"/-/links": "alias of go/kubernetes", "/-/": "alias of go/kubernetes",
		"/-/links/k8s/history": `<th scope="row">alias of</th><td class="old"></td><td class="new">kubernetes</td>`,
	} {
		if body := ts.do(t, "GET", path, "").body; !strings.Contains(body, want) {
			t.Errorf("%s does not show the alias as one (%s)", path, want)
		}
	}
	page := ts.do(t, "GET", "/-/links/k8s", "")
	els := byID(t, page.body)
	if els["alias-of"].text != "go/kubernetes" || els["f-alias_of"].attrs["value"] != "kubernetes" {
		t.Fatalf("alias page: alias-of %q, field %q", els["alias-of"].text, els["f-alias_of"].attrs["value"])
	}
	if _, ok := els["f-leave_alias"].attrs["checked"]; !ok {
		t.Fatal("the leave-an-alias box is not ticked by default")
	}
	if got := byID(t, ts.do(t, "GET", "/-/links/kubernetes", "").body)["aliases"].text; got != "go/k8s" {
		t.Fatalf("target page lists aliases %q", got)
	}
	// A rename with the box ticked (as the form sends it by default).
	rev := ts.do(t, "GET", "/api/v1/links/kubernetes", "").header.Get("ETag")
	rev = strings.Trim(rev, `"`)
	if r := post("/-/links/kubernetes", url.Values{"name": {"kube"}, "url": {"https://k8s.example"}, "alias_of": {""},
		"owner": {""}, "version": {rev}, "leave_alias": {"on"}}); r.status != 303 {
		t.Fatalf("rename by form: %d %s", r.status, r.body)
	}
	wantLocation(t, ts, "/kubernetes/x", "https://k8s.example/x")
	wantLocation(t, ts, "/k8s/x", "https://k8s.example/x")
	// Unticked: no alias is left.
	rev = strings.Trim(ts.do(t, "GET", "/api/v1/links/kube", "").header.Get("ETag"), `"`)
	if r := post("/-/links/kube", url.Values{"name": {"kubey"}, "url": {"https://k8s.example"}, "alias_of": {""},
		"owner": {""}, "version": {rev}}); r.status != 303 {
		t.Fatalf("rename by form: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/kube", ""); r.status != 404 {
		t.Fatalf("GET /kube after a rename with the box unticked = %d", r.status)
	}
	// A refused save shows the box as it was sent.
	rev = strings.Trim(ts.do(t, "GET", "/api/v1/links/kubey", "").header.Get("ETag"), `"`)
	for _, ticked := range []bool{false, true} {
		v := url.Values{"name": {"kubey2"}, "url": {"ftp://bad.example"}, "alias_of": {""}, "owner": {""}, "version": {rev}}
		if ticked {
			v.Set("leave_alias", "on")
		}
		r := post("/-/links/kubey", v)
		if _, checked := byID(t, r.body)["f-leave_alias"].attrs["checked"]; r.status != 400 || checked != ticked {
			t.Fatalf("refused save with the box ticked=%v: %d, shown ticked=%v", ticked, r.status, checked)
		}
	}
	// Ending an alias in its edit form: a URL and no alias_of.
	rev = strings.Trim(ts.do(t, "GET", "/api/v1/links/k8s", "").header.Get("ETag"), `"`)
	if r := post("/-/links/k8s", url.Values{"name": {"k8s"}, "url": {"https://own.example"}, "alias_of": {""},
		"owner": {""}, "version": {rev}}); r.status != 303 {
		t.Fatalf("end alias by form: %d %s", r.status, r.body)
	}
	wantLocation(t, ts, "/k8s", "https://own.example")
}

// A redirect through an alias costs what one through its target does: the
// same single lookup in the index, no more allocations.
func TestAliasRedirectAllocatesAsItsTarget(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "kubernetes", "https://k8s.example/docs")
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"k8s","alias_of":"kubernetes"}`); r.status != 201 {
		t.Fatal(r.body)
	}
	allocs := func(path string) float64 {
		req := httptest.NewRequest("GET", path, nil)
		w := &discard{h: http.Header{}}
		return testing.AllocsPerRun(200, func() {
			clear(w.h)
			ts.Config.Handler.ServeHTTP(w, req)
			if w.code != http.StatusFound {
				t.Fatalf("GET %s: %d", path, w.code)
			}
		})
	}
	if target, alias := allocs("/kubernetes/a/b?x=1"), allocs("/k8s/a/b?x=1"); alias > target {
		t.Fatalf("a redirect through an alias allocates %v times, through its target %v", alias, target)
	}
}

// Ownership applies to aliases as to any link: anyone who may create links
// may make an alias of anyone's link (it changes nothing of the target),
// only its owners may change the alias, and the target's owner cannot
// delete it while aliases lead to it (the 409 names them). The alias a
// rename leaves belongs to the link's owner.
func TestAliasOwnership(t *testing.T) {
	ts := newProxyServer(t, false)
	ann, bob := as("ann@x"), as("bob@x")
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://docs.example"}`, ann...); r.status != 201 {
		t.Fatal(r.body)
	}
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"d","alias_of":"docs"}`, bob...); r.status != 201 || record(t, r).Owner != "bob@x" {
		t.Fatalf("bob's alias of ann's link: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "PATCH", "/api/v1/links/d", `{"alias_of":"nowhere"}`, ann...), 403, links.Forbidden, "bob@x")
	wantError(t, ts.do(t, "DELETE", "/api/v1/links/docs", "", ann...), 409, links.Conflict, "go/docs has aliases (go/d)")
	if r := ts.do(t, "PATCH", "/api/v1/links/docs", `{"name":"handbook","leave_alias":true}`, ann...); r.status != 200 {
		t.Fatalf("ann renames: %d %s", r.status, r.body)
	}
	if rec := record(t, ts.do(t, "GET", "/api/v1/links/docs", "", ann...)); rec.AliasOf != "handbook" || rec.Owner != "ann@x" {
		t.Fatalf("the alias left by the rename = %+v", rec)
	}
}

// Restoring a version puts back its alias_of like any value: a deleted
// alias comes back as an alias, and a link goes back to before it was one.
func TestRestoreAliases(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "kubernetes", "https://k8s.example")
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"k8s","alias_of":"kubernetes"}`); r.status != 201 {
		t.Fatal(r.body)
	}
	if r := ts.do(t, "DELETE", "/api/v1/links/k8s", ""); r.status != 204 {
		t.Fatal(r.body)
	}
	if rec := record(t, ts.do(t, "POST", "/api/v1/links/k8s/restore", `{"version":1}`)); rec.AliasOf != "kubernetes" {
		t.Fatalf("restored alias = %+v", rec)
	}
	wantLocation(t, ts, "/k8s/x", "https://k8s.example/x")
	if r := ts.do(t, "PATCH", "/api/v1/links/k8s", `{"url":"https://own.example"}`); r.status != 200 {
		t.Fatal(r.body)
	}
	if rec := record(t, ts.do(t, "POST", "/api/v1/links/k8s/restore", `{"version":1}`)); rec.AliasOf != "kubernetes" || rec.URL != "" {
		t.Fatalf("version 1 restored = %+v", rec)
	}
	wantLocation(t, ts, "/k8s", "https://k8s.example")
	// A version that cannot come back says why: its target is gone.
	ts.create(t, "gone", "https://gone.example")
	if r := ts.do(t, "PATCH", "/api/v1/links/k8s", `{"alias_of":"gone"}`); r.status != 200 {
		t.Fatal(r.body)
	}
	if r := ts.do(t, "PATCH", "/api/v1/links/k8s", `{"alias_of":"kubernetes"}`); r.status != 200 {
		t.Fatal(r.body)
	}
	if r := ts.do(t, "DELETE", "/api/v1/links/gone", ""); r.status != 204 {
		t.Fatal(r.body)
	}
	wantError(t, ts.do(t, "POST", "/api/v1/links/k8s/restore", `{"version":6}`), 400, links.Invalid, "there is no go/gone")
}
