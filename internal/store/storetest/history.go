package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

func as(actor string, a links.Action) context.Context {
	return links.WithEdit(context.Background(), links.Edit{Actor: actor, Action: a, At: t0.Add(time.Hour)})
}

func changes(t *testing.T, s links.Store, q links.ChangeQuery) []links.Change {
	t.Helper()
	cs, err := s.Changes(context.Background(), q)
	if err != nil {
		t.Fatalf("Changes(%+v): %v", q, err)
	}
	return cs
}

// describe renders changes compactly: "create v1 by ann: docs".
func describe(cs []links.Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s v%d by %s: %s", c.Action, c.Version, c.Actor, c.Name))
	}
	return strings.Join(out, "; ")
}

// Create, update, rename and delete each leave one history entry, written
// with the change, naming the actor, and holding the values before and
// after.
func testHistoryRecordsEveryWrite(t *testing.T, s links.Store) {
	l := mk("docs", "https://a.example")
	l.Description, l.Owner, l.Tags = "the docs", "ann", "team wiki"
	created, _, err := s.Create(as("ann", ""), l)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.Version != 1 || created.Tags != "team wiki" {
		t.Fatalf("created %+v: want an ID, version 1 and the tags", created)
	}
	upd := created
	upd.URL, upd.UpdatedAt = "https://b.example", t0.Add(time.Minute)
	updated, _, err := s.Update(as("bob", ""), "docs", upd)
	if err != nil {
		t.Fatal(err)
	}
	ren := updated
	ren.Name, ren.Key = "Manual", "manual"
	renamed, _, err := s.Update(as("cy", ""), "docs", ren)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(as("dee", ""), "manual"); err != nil {
		t.Fatal(err)
	}
	cs := changes(t, s, links.ChangeQuery{LinkID: created.ID})
	want := "create v1 by ann: docs; update v2 by bob: docs; rename v3 by cy: Manual; delete v4 by dee: Manual"
	if got := describe(cs); got != want {
		t.Fatalf("history:\n got %s\nwant %s", got, want)
	}
	if cs[0].Before != nil || cs[0].After == nil || cs[0].After.URL != "https://a.example" || cs[0].After.Owner != "ann" ||
		!slices.Equal(cs[0].After.Tags, []string{"team", "wiki"}) || cs[0].After.Description != "the docs" {
		t.Errorf("create entry: before %+v after %+v", cs[0].Before, cs[0].After)
	}
	if cs[1].Before.URL != "https://a.example" || cs[1].After.URL != "https://b.example" {
		t.Errorf("update entry: before %+v after %+v", cs[1].Before, cs[1].After)
	}
	if cs[2].Before.Name != "docs" || cs[2].After.Name != "Manual" || cs[2].Key != "manual" {
		t.Errorf("rename entry: %+v before %+v after %+v", cs[2], cs[2].Before, cs[2].After)
	}
	if cs[3].After != nil || cs[3].Before.Name != "Manual" || cs[3].Key != "manual" || !cs[3].At.Equal(t0.Add(time.Hour)) {
		t.Errorf("delete entry: %+v before %+v after %+v", cs[3], cs[3].Before, cs[3].After)
	}
	if !cs[1].At.Equal(updated.UpdatedAt) || renamed.Version != 3 {
		t.Errorf("update entry at %v (link updated %v); renamed version %d", cs[1].At, updated.UpdatedAt, renamed.Version)
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].Seq <= cs[i-1].Seq {
			t.Fatalf("seq does not increase: %d then %d", cs[i-1].Seq, cs[i].Seq)
		}
	}
	// One version by number; newest first.
	if v := changes(t, s, links.ChangeQuery{LinkID: created.ID, Version: 2}); len(v) != 1 || v[0].Action != links.ActionUpdate {
		t.Errorf("version 2: %s", describe(v))
	}
	if d := changes(t, s, links.ChangeQuery{LinkID: created.ID, Desc: true, Limit: 2}); describe(d) != "delete v4 by dee: Manual; rename v3 by cy: Manual" {
		t.Errorf("newest two: %s", describe(d))
	}
	// An action set by the caller (a restore) wins over the method's own.
	again := mk("again", "https://c.example")
	if _, _, err := s.Create(as("eve", links.ActionRestore), again); err != nil {
		t.Fatal(err)
	}
	if a := changes(t, s, links.ChangeQuery{Desc: true, Limit: 1}); describe(a) != "restore v1 by eve: again" {
		t.Errorf("restore-created entry: %s", describe(a))
	}
}

// A write that fails records nothing: the entry is in the same transaction.
func testHistoryOnlyForCommittedWrites(t *testing.T, s links.Store) {
	ctx := as("ann", "")
	mustCreate(t, s, mk("a", "https://a.example"))
	mustCreate(t, s, mk("b", "https://b.example"))
	n := len(changes(t, s, links.ChangeQuery{}))
	_, _, err := s.Create(ctx, mk("A", "https://x.example"))
	wantCode(t, err, links.Conflict)
	_, _, err = s.Update(ctx, "a", mk("B", "https://a.example"))
	wantCode(t, err, links.Conflict)
	_, _, err = s.Update(ctx, "nope", mk("nope", "https://a.example"))
	wantCode(t, err, links.NotFound)
	wantCode(t, errOf(s.Delete(ctx, "nope")), links.NotFound)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Create(cctx, mk("c", "https://c.example")); err == nil {
		t.Fatal("create with a cancelled context succeeded")
	}
	if got := changes(t, s, links.ChangeQuery{}); len(got) != n {
		t.Fatalf("failed writes left history entries: %s", describe(got[n:]))
	}
}

// The audit log pages by seq (oldest first, or newest first) and filters
// by time.
func testAuditPaging(t *testing.T, s links.Store) {
	for i := range 5 {
		l := mk(fmt.Sprintf("l%d", i), "https://a.example")
		l.UpdatedAt = t0.Add(time.Duration(i) * time.Hour)
		mustCreate(t, s, l)
	}
	all := changes(t, s, links.ChangeQuery{})
	if len(all) != 5 {
		t.Fatalf("%d entries, want 5", len(all))
	}
	var paged []links.Change
	after := int64(0)
	for range 10 {
		page := changes(t, s, links.ChangeQuery{After: after, Limit: 2})
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if describe(paged) != describe(all) {
		t.Fatalf("pages of 2: %s, want %s", describe(paged), describe(all))
	}
	if since := changes(t, s, links.ChangeQuery{Since: t0.Add(3 * time.Hour)}); describe(since) != "create v1 by : l3; create v1 by : l4" {
		t.Errorf("since 3h: %s", describe(since))
	}
	if before := changes(t, s, links.ChangeQuery{Before: all[2].Seq, Desc: true}); describe(before) != "create v1 by : l1; create v1 by : l0" {
		t.Errorf("before the third, newest first: %s", describe(before))
	}
}

func testIDs(t *testing.T, s links.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, mk("a", "https://a.example"))
	b := mustCreate(t, s, mk("b", "https://b.example"))
	if a.ID == b.ID || a.ID == 0 {
		t.Fatalf("ids %d and %d", a.ID, b.ID)
	}
	r, _, err := s.Update(ctx, "b", mk("c", "https://b.example"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != b.ID {
		t.Fatalf("rename changed the id: %d → %d", b.ID, r.ID)
	}
	if _, err := s.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	d := mustCreate(t, s, mk("d", "https://d.example"))
	if d.ID == b.ID || d.ID == a.ID {
		t.Fatalf("a new link reused id %d", d.ID)
	}
	if got, _ := s.Get(ctx, "a"); got.ID != a.ID || got.Version != 1 {
		t.Fatalf("Get a = id %d version %d", got.ID, got.Version)
	}
	// Clicks are not a change: no new version.
	if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 1, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "a"); got.Version != 1 {
		t.Fatalf("a click changed the version to %d", got.Version)
	}
}

// The version a write expects is checked by the database: a stale one
// changes nothing and says Stale.
func testConditionalWrites(t *testing.T, s links.Store) {
	ctx := context.Background()
	v1 := mustCreate(t, s, mk("docs", "https://a.example"))
	edit := v1
	edit.URL = "https://b.example"
	v2, _, err := s.Update(ctx, "docs", edit) // at v1: matches
	if err != nil || v2.Version != 2 || v2.URL != "https://b.example" {
		t.Fatalf("matching update: %+v, %v", v2, err)
	}
	stale := v1
	stale.URL = "https://stale.example"
	_, _, err = s.Update(ctx, "docs", stale) // still at v1: stale
	wantCode(t, err, links.Stale)
	other := v2
	other.ID = v2.ID + 1000 // right version, another link's id
	_, _, err = s.Update(ctx, "docs", other)
	wantCode(t, err, links.Stale)
	if got, _ := s.Get(ctx, "docs"); got.URL != "https://b.example" || got.Version != 2 {
		t.Fatalf("a stale update changed the link: %+v", got)
	}
	if n := len(changes(t, s, links.ChangeQuery{LinkID: v1.ID})); n != 2 {
		t.Fatalf("%d history entries after one refused update, want 2", n)
	}
	wantCode(t, errOf(s.Delete(ctx, "docs", v1.Rev())), links.Stale)
	wantCode(t, errOf(s.Delete(ctx, "docs", links.Rev{ID: -1, Version: 2})), links.Stale)
	if _, err := s.Get(ctx, "docs"); err != nil {
		t.Fatalf("a stale delete deleted: %v", err)
	}
	if _, err := s.Delete(ctx, "docs", v1.Rev(), v2.Rev()); err != nil { // any of them
		t.Fatal(err)
	}
	wantCode(t, errOf(s.Delete(ctx, "docs", v2.Rev())), links.NotFound)
}

// Two writers that read the same version: exactly one update commits.
func testConcurrentConditionalUpdates(t *testing.T, s links.Store) {
	ctx := context.Background()
	v1 := mustCreate(t, s, mk("hot", "https://a.example"))
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			l := v1
			l.URL = fmt.Sprintf("https://w%d.example", i)
			_, _, errs[i] = s.Update(ctx, "hot", l)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch links.ErrorCode(err) {
		case "":
			won++
		case links.Stale, links.Unavailable: // Unavailable: a serialisation failure, worth a retry
		default:
			t.Fatalf("concurrent update: %v", err)
		}
	}
	got, _ := s.Get(ctx, "hot")
	if won != 1 || got.Version != 2 {
		t.Fatalf("%d of %d updates from version 1 committed (now version %d), want exactly 1", won, n, got.Version)
	}
}

func testDeletedAndRestored(t *testing.T, s links.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, mk("a", "https://a.example"))
	mustCreate(t, s, mk("b", "https://b.example"))
	for _, k := range []string{"a", "b"} {
		if _, err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	deleted := func(q links.DeletedQuery) string {
		t.Helper()
		ds, err := s.Deleted(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return describe(ds)
	}
	if got := deleted(links.DeletedQuery{}); got != "delete v2 by : b; delete v2 by : a" {
		t.Fatalf("deleted: %s", got)
	}
	if got := deleted(links.DeletedQuery{Key: "a"}); got != "delete v2 by : a" {
		t.Fatalf("deleted a: %s", got)
	}
	// Bring a back under its id: no longer deleted.
	back := mk("a", "https://a.example")
	back.ID, back.Version = a.ID, 3
	got, _, err := s.Create(ctx, back)
	if err != nil || got.ID != a.ID || got.Version != 3 {
		t.Fatalf("restore: %+v, %v", got, err)
	}
	if got := deleted(links.DeletedQuery{}); got != "delete v2 by : b" {
		t.Fatalf("after restoring a: %s", got)
	}
	// Deleted again: listed once, with its last deletion.
	if _, err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := deleted(links.DeletedQuery{Key: "a"}); got != "delete v4 by : a" {
		t.Fatalf("deleted twice: %s", got)
	}
	// Another link taking the name does not hide the old one's deletion.
	mustCreate(t, s, mk("b", "https://new-b.example"))
	if got := deleted(links.DeletedQuery{Limit: 1}); got != "delete v4 by : a" {
		t.Fatalf("newest deletion: %s", got)
	}
	if got := deleted(links.DeletedQuery{Key: "b"}); got != "delete v2 by : b" {
		t.Fatalf("b deleted, then a new b: %s", got)
	}
}

// An import records a change for each link whose recorded fields it
// changes, and leaves the others' versions alone.
func testImportHistory(t *testing.T, s links.Store) {
	ctx := context.Background()
	same := mustCreate(t, s, mk("same", "https://same.example"))
	counts := mustCreate(t, s, mk("counts", "https://counts.example"))
	edited := mustCreate(t, s, mk("edited", "https://old.example"))
	n := len(changes(t, s, links.ChangeQuery{}))
	c := mk("counts", "https://counts.example")
	c.Clicks = 9
	e := mk("edited", "https://new.example")
	e.Tags = "x"
	if err := s.Import(as("importer", links.ActionImport), links.All([]links.Link{mk("same", "https://same.example"), c, e, mk("fresh", "https://fresh.example")}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	got := changes(t, s, links.ChangeQuery{})[n:]
	if d := describe(got); !strings.Contains(d, "import v2 by importer: edited") || !strings.Contains(d, "import v1 by importer: fresh") || len(got) != 2 {
		t.Fatalf("import history: %s", d)
	}
	for _, k := range []struct {
		key     string
		version int64
		id      int64
	}{{"same", 1, same.ID}, {"counts", 1, counts.ID}, {"edited", 2, edited.ID}} {
		l, err := s.Get(ctx, k.key)
		if err != nil || l.Version != k.version || l.ID != k.id {
			t.Errorf("%s after import: version %d id %d (%v), want version %d id %d", k.key, l.Version, l.ID, err, k.version, k.id)
		}
	}
	if l, _ := s.Get(ctx, "counts"); l.Clicks != 9 {
		t.Errorf("counts-only line not written: %d clicks", l.Clicks)
	}
	if l, _ := s.Get(ctx, "fresh"); l.ID == 0 || l.Version != 1 {
		t.Errorf("fresh: %+v", l)
	}
	for _, ch := range got {
		if ch.Key == "edited" && (ch.Before.URL != "https://old.example" || ch.After.URL != "https://new.example" || !slices.Equal(ch.After.Tags, []string{"x"})) {
			t.Errorf("edited entry: %+v → %+v", ch.Before, ch.After)
		}
	}
}

func testPruneHistory(t *testing.T, s links.Store) {
	ctx := context.Background()
	for i := range 3 {
		l := mk(fmt.Sprintf("p%d", i), "https://a.example")
		l.UpdatedAt = t0.Add(time.Duration(i) * 24 * time.Hour)
		mustCreate(t, s, l)
	}
	n, err := s.PruneHistory(ctx, t0.Add(36*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneHistory = %d, %v; want 2", n, err)
	}
	if left := changes(t, s, links.ChangeQuery{}); describe(left) != "create v1 by : p2" {
		t.Fatalf("left: %s", describe(left))
	}
	if _, err := s.Get(ctx, "p0"); err != nil {
		t.Fatalf("pruning history removed a link: %v", err)
	}
}

func testTags(t *testing.T, s links.Store) {
	ctx := context.Background()
	for _, x := range []struct{ name, tags, owner string }{
		{"a", "infra team", "Ann@x"}, {"b", "team", "bob@x"}, {"c", "infra", "ann@x"}, {"d", "", "ann@x"}, {"e", "infrastructure", ""},
	} {
		l := mk(x.name, "https://"+x.name+".example")
		l.Tags, l.Owner = x.tags, x.owner
		mustCreate(t, s, l)
	}
	for _, tc := range []struct {
		opt  links.ListOptions
		want string
	}{
		{links.ListOptions{Tags: []string{"infra"}}, "[a c]"}, // a whole tag, not a prefix of infrastructure
		{links.ListOptions{Tags: []string{"infra", "team"}}, "[a]"},
		{links.ListOptions{Tags: []string{"nope"}}, "[]"},
		{links.ListOptions{Owner: "ann@x"}, "[a c d]"}, // owners compare case-insensitively
		{links.ListOptions{Owner: "ann@x", Tags: []string{"infra"}}, "[a c]"},
		{links.ListOptions{Tags: []string{"_"}}, "[]"}, // LIKE's wildcards are literal
	} {
		ls, err := s.List(ctx, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, l := range ls {
			keys = append(keys, l.Key)
		}
		if got := fmt.Sprint(keys); got != tc.want {
			t.Errorf("List(%+v) = %s, want %s", tc.opt, got, tc.want)
		}
		if n, err := s.Count(ctx, tc.opt); err != nil || n != len(ls) {
			t.Errorf("Count(%+v) = %d, %v; List found %d", tc.opt, n, err, len(ls))
		}
	}
	// A change of tags alone is a change of the link set: a new version,
	// and the counter replicas follow moves.
	v0, _ := s.Version(ctx)
	l, _ := s.Get(ctx, "d")
	l.Tags = "new"
	got, _, err := s.Update(ctx, "d", l)
	if err != nil || got.Tags != "new" || got.Version != 2 {
		t.Fatalf("tag update: %+v, %v", got, err)
	}
	if v1, _ := s.Version(ctx); v1 <= v0 {
		t.Fatal("a tag change did not move the link set's version")
	}
}

// Pages of every sort, joined, are the whole list in order; Count is the
// true total.
func testListPages(t *testing.T, s links.Store) {
	ctx := context.Background()
	var cs []links.Click
	for i, n := range []string{"g", "b", "e", "a", "f", "c", "d"} {
		l := mk(n, "https://"+n+".example")
		l.UpdatedAt = t0.Add(time.Duration(i%3) * time.Minute) // ties
		if n == "d" {
			l.Description = "docs"
		}
		mustCreate(t, s, l)
		if i%2 == 0 { // a, b, c never clicked; ties in clicks
			cs = append(cs, links.Click{Key: n, N: int64(1 + i%3), Last: t0.Add(time.Duration(i%2) * time.Second)})
		}
	}
	if err := s.AddClicks(ctx, cs); err != nil {
		t.Fatal(err)
	}
	for _, sort := range []links.Sort{links.SortName, links.SortClicks, links.SortLastUsed, links.SortLastChanged} {
		for _, q := range []string{"", "d"} {
			all, err := s.List(ctx, links.ListOptions{Sort: sort, Query: q})
			if err != nil {
				t.Fatal(err)
			}
			var paged []links.Link
			opt := links.ListOptions{Sort: sort, Query: q, Limit: 2}
			for range 10 {
				page, err := s.List(ctx, opt)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, page...)
				if len(page) < opt.Limit {
					break
				}
				c := links.CursorAfter(sort, page[len(page)-1])
				opt.After = &c
			}
			if fmt.Sprint(keys(paged)) != fmt.Sprint(keys(all)) {
				t.Errorf("sort %s q %q: pages %v, whole %v", sort, q, keys(paged), keys(all))
			}
			if n, err := s.Count(ctx, links.ListOptions{Sort: sort, Query: q, Limit: 2}); err != nil || n != len(all) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(all))
			}
		}
	}
	byClicks, _ := s.List(ctx, links.ListOptions{Sort: links.SortClicks})
	if got := fmt.Sprint(keys(byClicks)); got != "[e f d g a b c]" {
		t.Errorf("by clicks: %s", got) // e 3, f 2, d and g 1 (by key), a b c none
	}
	byUse, _ := s.List(ctx, links.ListOptions{Sort: links.SortLastUsed})
	if got := keys(byUse); fmt.Sprint(got[len(got)-3:]) != "[a b c]" {
		t.Errorf("by last use, never clicked must come last by key: %v", got)
	}
}

func keys(ls []links.Link) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Key)
	}
	return out
}

// An import of more than one chunk of new links (a key repeated in the
// middle): each link gets its own ID, never one a later link gets, and one
// import entry at version 1 in the history under that ID.
func testImportBulk(t *testing.T, s links.Store) {
	ctx := context.Background()
	first := mustCreate(t, s, mk("first", "https://first.example"))
	var ls []links.Link
	for i := range 1200 {
		ls = append(ls, mk(fmt.Sprintf("bulk%04d", i), fmt.Sprintf("https://bulk.example/%d", i)))
	}
	ls = append(ls[:700], append([]links.Link{mk("bulk0003", "https://again.example")}, ls[700:]...)...)
	if err := s.Import(as("importer", links.ActionImport), links.All(ls), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	later := mustCreate(t, s, mk("later", "https://later.example"))
	ids := map[int64]string{first.ID: "first", later.ID: "later"}
	for i := range 1200 {
		key := fmt.Sprintf("bulk%04d", i)
		l, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := ids[l.ID]; ok || l.ID == 0 {
			t.Fatalf("%s has ID %d, also %q's", key, l.ID, prev)
		}
		ids[l.ID] = key
		cs := changes(t, s, links.ChangeQuery{LinkID: l.ID})
		if len(cs) == 0 || cs[0].Version != 1 || cs[0].Action != links.ActionImport || cs[0].Key != key {
			t.Fatalf("%s (ID %d): history %s, want an import at version 1 first", key, l.ID, describe(cs))
		}
		if want := fmt.Sprintf("https://bulk.example/%d", i); i == 3 {
			if l.URL != "https://again.example" {
				t.Fatalf("repeated key: %s, want the later line's URL", l.URL)
			}
		} else if l.URL != want || l.Version != 1 {
			t.Fatalf("%s: %s v%d, want %s v1", key, l.URL, l.Version, want)
		}
	}
	if later.ID <= first.ID {
		t.Fatalf("IDs went back: first %d, later %d", first.ID, later.ID)
	}
}
