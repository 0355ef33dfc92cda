// Package storetest is the conformance suite every links.Store backend
// must pass unchanged: SQLite and PostgreSQL run the same tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// Run runs the suite. open must return an empty, migrated store; the suite
// closes it.
func Run(t *testing.T, open func(t *testing.T) links.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s links.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateConflict", testCreateConflict},
		{"GetMissing", testGetMissing},
		{"Update", testUpdate},
		{"Rename", testRename},
		{"RenameConflict", testRenameConflict},
		{"UpdateMissing", testUpdateMissing},
		{"Delete", testDelete},
		{"ListSearchSort", testList},
		{"ListByOwner", testListByOwner},
		{"Each", testEach},
		{"Targets", testTargets},
		{"ImportUpsertAllOrNothing", testImport},
		{"ImportWithoutStats", testImportWithoutStats},
		{"AddClicks", testAddClicks},
		{"AddClicksSaturates", testAddClicksSaturates},
		{"AddClicksConcurrent", testAddClicksConcurrent},
		{"Version", testVersion},
		{"WriteVersions", testWriteVersions},
		{"SchemaVersion", testSchemaVersion},

		// History, versions, tags and paging.
		{"HistoryRecordsEveryWrite", testHistoryRecordsEveryWrite},
		{"HistoryOnlyForCommittedWrites", testHistoryOnlyForCommittedWrites},
		{"AuditPaging", testAuditPaging},
		{"IDsSurviveRenamesAndAreNeverReused", testIDs},
		{"ConditionalUpdateAndDelete", testConditionalWrites},
		{"ConcurrentConditionalUpdates", testConcurrentConditionalUpdates},
		{"DeletedAndRestored", testDeletedAndRestored},
		{"ImportHistory", testImportHistory},
		{"ImportIDsAndHistoryInBulk", testImportBulk},
		{"PruneHistory", testPruneHistory},
		{"Tags", testTags},
		{"ListPagesAndCounts", testListPages},

		// Aliases.
		{"Aliases", testAliases},
		{"AliasRefusals", testAliasRefusals},
		{"AliasHistory", testAliasHistory},
		{"ImportAliases", testImportAliases},
		{"AliasRace", testAliasRace},
	}
	tests = append(tests, clicksTests()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func mk(name, url string) links.Link {
	return links.Link{Name: name, Key: links.Normalize(name), URL: url, CreatedAt: t0, UpdatedAt: t0}
}

func mustCreate(t *testing.T, s links.Store, l links.Link) links.Link {
	t.Helper()
	got, _, err := s.Create(context.Background(), l)
	if err != nil {
		t.Fatalf("Create(%q): %v", l.Name, err)
	}
	return got
}

// errOf is the error of a write that also returned its version.
func errOf(_ int64, err error) error { return err }

func wantCode(t *testing.T, err error, code links.Code) {
	t.Helper()
	if got := links.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func testCreateGet(t *testing.T, s links.Store) {
	ctx := context.Background()
	in := mk("Foo-Bar", "https://example.com/x?y=1")
	in.Description, in.Owner = "the foo", "alice@example.com"
	got := mustCreate(t, s, in)
	if got.Key != "foobar" || got.Name != "Foo-Bar" || got.URL != in.URL || got.Description != "the foo" || got.Owner != "alice@example.com" {
		t.Fatalf("Create returned %+v", got)
	}
	if !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("times = %v %v, want %v", got.CreatedAt, got.UpdatedAt, t0)
	}
	if !got.LastClickedAt.IsZero() || got.Clicks != 0 {
		t.Fatalf("new link has clicks %d at %v", got.Clicks, got.LastClickedAt)
	}
	again, err := s.Get(ctx, "foobar")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("Get = %+v, want %+v", again, got)
	}
}

func testCreateConflict(t *testing.T, s links.Store) {
	mustCreate(t, s, mk("docs", "https://a.example"))
	_, _, err := s.Create(context.Background(), mk("docs", "https://b.example"))
	wantCode(t, err, links.Conflict)
	got, _ := s.Get(context.Background(), "docs")
	if got.URL != "https://a.example" {
		t.Fatalf("conflicting create changed the link: %+v", got)
	}
}

func testGetMissing(t *testing.T, s links.Store) {
	_, err := s.Get(context.Background(), "nope")
	wantCode(t, err, links.NotFound)
}

func testUpdate(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("docs", "https://a.example"))
	if err := s.AddClicks(ctx, []links.Click{{Key: "docs", N: 3, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	l := mk("Docs", "https://b.example")
	l.Description, l.Owner = "new", "bob"
	l.UpdatedAt = t0.Add(time.Hour)
	l.CreatedAt = t0.Add(99 * time.Hour) // must be ignored
	got, _, err := s.Update(ctx, "docs", l)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Docs" || got.URL != "https://b.example" || got.Description != "new" || got.Owner != "bob" {
		t.Fatalf("Update = %+v", got)
	}
	if !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("times after update: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	if got.Clicks != 3 {
		t.Fatalf("update lost clicks: %d", got.Clicks)
	}
}

func testRename(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("old", "https://a.example"))
	got, _, err := s.Update(ctx, "old", mk("New-Name", "https://a.example"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != "newname" {
		t.Fatalf("renamed key = %q", got.Key)
	}
	_, err = s.Get(ctx, "old")
	wantCode(t, err, links.NotFound)
	if _, err := s.Get(ctx, "newname"); err != nil {
		t.Fatal(err)
	}
}

func testRenameConflict(t *testing.T, s links.Store) {
	mustCreate(t, s, mk("a", "https://a.example"))
	mustCreate(t, s, mk("b", "https://b.example"))
	_, _, err := s.Update(context.Background(), "a", mk("B", "https://a.example"))
	wantCode(t, err, links.Conflict)
}

func testUpdateMissing(t *testing.T, s links.Store) {
	_, _, err := s.Update(context.Background(), "nope", mk("nope", "https://a.example"))
	wantCode(t, err, links.NotFound)
}

func testDelete(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("gone", "https://a.example"))
	if _, err := s.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "gone")
	wantCode(t, err, links.NotFound)
	_, err = s.Delete(ctx, "gone")
	wantCode(t, err, links.NotFound)
}

func testList(t *testing.T, s links.Store) {
	ctx := context.Background()
	for i, n := range []string{"alpha", "Beta-Docs", "gamma", "delta_x"} {
		l := mk(n, fmt.Sprintf("https://%s.example/", n))
		l.UpdatedAt = t0.Add(time.Duration(i) * time.Minute)
		if n == "gamma" {
			l.Description = "Team DOCS portal"
		}
		mustCreate(t, s, l)
	}
	if err := s.AddClicks(ctx, []links.Click{{Key: "gamma", N: 5, Last: t0}, {Key: "alpha", N: 2, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	names := func(ls []links.Link) (out []string) {
		for _, l := range ls {
			out = append(out, l.Key)
		}
		return out
	}
	for _, tc := range []struct {
		opt  links.ListOptions
		want string
	}{
		{links.ListOptions{}, "[alpha betadocs delta_x gamma]"},
		{links.ListOptions{Sort: links.SortPopular, Limit: 2}, "[gamma alpha]"},
		{links.ListOptions{Sort: links.SortRecent, Limit: 3}, "[delta_x gamma betadocs]"},
		{links.ListOptions{Query: "docs"}, "[betadocs gamma]"},     // name and description
		{links.ListOptions{Query: "beta-d"}, "[betadocs]"},         // normalised like a name
		{links.ListOptions{Query: "DELTA_X.example"}, "[delta_x]"}, // URL, case-insensitive
		{links.ListOptions{Query: "a_x"}, "[delta_x]"},             // '_' is literal, not a wildcard
		{links.ListOptions{Query: "%"}, "[]"},                      // '%' is literal
		{links.ListOptions{Query: "zzz"}, "[]"},
	} {
		got, err := s.List(ctx, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		if g := fmt.Sprint(names(got)); g != tc.want {
			t.Errorf("List(%+v) = %s, want %s", tc.opt, g, tc.want)
		}
	}
}

func testEach(t *testing.T, s links.Store) {
	for _, n := range []string{"c", "a", "b"} {
		mustCreate(t, s, mk(n, "https://x.example"))
	}
	var got []string
	err := s.Each(context.Background(), func(l links.Link) error {
		got = append(got, l.Key)
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("Each = %v, %v", got, err)
	}
	stop := errors.New("stop")
	n := 0
	err = s.Each(context.Background(), func(links.Link) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Each did not stop at the callback's error: n=%d err=%v", n, err)
	}
}

func testTargets(t *testing.T, s links.Store) {
	for _, n := range []string{"c", "A-x", "b"} {
		mustCreate(t, s, mk(n, "https://"+n+".example/p?q=1"))
	}
	got := map[string]string{}
	err := s.Targets(context.Background(), func(key, url string) error {
		got[key] = url
		return nil
	})
	want := map[string]string{"c": "https://c.example/p?q=1", "ax": "https://A-x.example/p?q=1", "b": "https://b.example/p?q=1"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Targets = %v, %v; want %v", got, err, want)
	}
	stop := errors.New("stop")
	n := 0
	err = s.Targets(context.Background(), func(string, string) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Targets did not stop at the callback's error: n=%d err=%v", n, err)
	}
}

func testImport(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("keep", "https://keep.example"))
	mustCreate(t, s, mk("replace", "https://old.example"))
	imp := []links.Link{mk("replace", "https://new.example"), mk("fresh", "https://fresh.example")}
	imp[1].Clicks = 7
	imp[1].LastClickedAt = t0
	imp[1].Owner = "carol"
	if err := s.Import(ctx, links.All(imp), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, "replace")
	if got.URL != "https://new.example" {
		t.Fatalf("import did not replace: %+v", got)
	}
	got, _ = s.Get(ctx, "fresh")
	if got.Clicks != 7 || !got.LastClickedAt.Equal(t0) || got.Owner != "carol" {
		t.Fatalf("import lost fields: %+v", got)
	}
	if _, err := s.Get(ctx, "keep"); err != nil {
		t.Fatal("import removed an unrelated link")
	}
	// An import that cannot commit stores nothing.
	bad := []links.Link{mk("newone", "https://n.example"), mk("another", "https://b.example")}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Import(cctx, links.All(bad), links.ImportOptions{Stats: true}); err == nil {
		t.Fatal("import with a cancelled context succeeded")
	}
	if _, err := s.Get(ctx, "newone"); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("failed import stored part of its batch: %v", err)
	}
	// An import whose source fails part-way (a bad line after a thousand
	// good ones, across statements) stores nothing and returns that error.
	lineErr := links.Errorf(links.Invalid, "line 1501: bad")
	err := s.Import(ctx, func(yield func(links.Link, error) bool) {
		for i := 0; i < 1500; i++ {
			if !yield(mk(fmt.Sprintf("stream%d", i), "https://s.example"), nil) {
				return
			}
		}
		yield(links.Link{}, lineErr)
	}, links.ImportOptions{Stats: true})
	if !errors.Is(err, lineErr) {
		t.Fatalf("import whose source failed = %v, want the source's error", err)
	}
	if _, err := s.Get(ctx, "stream0"); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("an import whose source failed stored its first links: %v", err)
	}
}

// Without Stats, an import changes what a link says, never its clicks, last
// click or creation time; new links are stored as given.
func testImportWithoutStats(t *testing.T, s links.Store) {
	ctx := context.Background()
	old := mk("old", "https://old.example")
	mustCreate(t, s, old)
	if err := s.AddClicks(ctx, []links.Click{{Key: "old", N: 4, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	upd := mk("Old", "https://new.example")
	upd.Clicks, upd.LastClickedAt, upd.CreatedAt, upd.UpdatedAt = links.MaxClicks, later, later, later
	fresh := mk("fresh", "https://fresh.example")
	fresh.CreatedAt, fresh.UpdatedAt = later, later
	if err := s.Import(ctx, links.All([]links.Link{upd, fresh}), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Old" || got.URL != "https://new.example" || !got.UpdatedAt.Equal(later) {
		t.Fatalf("import without stats did not update the link: %+v", got)
	}
	if got.Clicks != 4 || !got.LastClickedAt.Equal(t0) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("import without stats changed clicks or times: %+v", got)
	}
	got, _ = s.Get(ctx, "fresh")
	if got.Clicks != 0 || !got.LastClickedAt.IsZero() || !got.CreatedAt.Equal(later) {
		t.Fatalf("new link of an import without stats: %+v", got)
	}
}

// A flush never overflows: a count at or near the maximum saturates, and
// the other counts of the same flush are written.
func testAddClicksSaturates(t *testing.T, s links.Store) {
	ctx := context.Background()
	top, near := mk("top", "https://top.example"), mk("near", "https://near.example")
	top.Clicks, near.Clicks = links.MaxClicks, links.MaxClicks-1
	if err := s.Import(ctx, links.All([]links.Link{top, near, mk("small", "https://small.example")}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		err := s.AddClicks(ctx, []links.Click{{Key: "top", N: 5, Last: t0}, {Key: "near", N: links.MaxClicks, Last: t0}, {Key: "small", N: 2, Last: t0}})
		if err != nil {
			t.Fatalf("flush onto a saturated count: %v", err)
		}
	}
	for key, want := range map[string]int64{"top": links.MaxClicks, "near": links.MaxClicks, "small": 4} {
		got, err := s.Get(ctx, key)
		if err != nil || got.Clicks != want {
			t.Errorf("%s: %d clicks, %v; want %d", key, got.Clicks, err, want)
		}
	}
	// And the links still read back in a listing and an export.
	ls, err := s.List(ctx, links.ListOptions{Sort: links.SortPopular})
	if err != nil || len(ls) != 3 {
		t.Fatalf("List after saturation: %d links, %v", len(ls), err)
	}
}

func testAddClicks(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("a", "https://a.example"))
	mustCreate(t, s, mk("b", "https://b.example"))
	later := t0.Add(time.Minute)
	err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 2, Last: t0}, {Key: "b", N: 1, Last: later}, {Key: "deleted", N: 9, Last: t0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 3, Last: later}}); err != nil {
		t.Fatal(err)
	}
	// An older time never moves last_clicked_at back.
	if err := s.AddClicks(ctx, []links.Click{{Key: "b", N: 1, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Get(ctx, "a")
	b, _ := s.Get(ctx, "b")
	if a.Clicks != 5 || !a.LastClickedAt.Equal(later) {
		t.Fatalf("a: %d clicks, last %v", a.Clicks, a.LastClickedAt)
	}
	if b.Clicks != 2 || !b.LastClickedAt.Equal(later) {
		t.Fatalf("b: %d clicks, last %v", b.Clicks, b.LastClickedAt)
	}
	if err := s.AddClicks(ctx, nil); err != nil {
		t.Fatalf("empty AddClicks: %v", err)
	}
	// More than one statement's worth of entries, with repeated keys.
	many := make([]links.Click, 2500)
	for i := range many {
		many[i] = links.Click{Key: "a", N: 1, Last: later}
	}
	if err := s.AddClicks(ctx, many); err != nil {
		t.Fatal(err)
	}
	a, _ = s.Get(ctx, "a")
	if a.Clicks != 2505 {
		t.Fatalf("after a large batch a has %d clicks, want 2505", a.Clicks)
	}
}

// Concurrent flushes (as from several replicas) must add up.
func testAddClicksConcurrent(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("hot", "https://a.example"))
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				errs <- s.AddClicks(ctx, []links.Click{{Key: "hot", N: 2, Last: t0}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.Get(ctx, "hot")
	if got.Clicks != workers*rounds*2 {
		t.Fatalf("clicks = %d, want %d", got.Clicks, workers*rounds*2)
	}
}

func testVersion(t *testing.T, s links.Store) {
	ctx := context.Background()
	v := func() int64 {
		t.Helper()
		n, err := s.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	v0 := v()
	mustCreate(t, s, mk("a", "https://a.example"))
	v1 := v()
	if v1 <= v0 {
		t.Fatalf("create did not bump version: %d → %d", v0, v1)
	}
	if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 1, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	if v() != v1 {
		t.Fatal("clicks bumped the version")
	}
	if _, _, err := s.Update(ctx, "a", mk("a", "https://b.example")); err != nil {
		t.Fatal(err)
	}
	v2 := v()
	if v2 <= v1 {
		t.Fatal("update did not bump version")
	}
	if _, err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if v() <= v2 {
		t.Fatal("delete did not bump version")
	}
}

func testSchemaVersion(t *testing.T, s links.Store) {
	v, err := s.SchemaVersion(context.Background())
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
}

// Each write returns the version it committed as: the one Version reads
// right after it, one more than before (an index that published the write
// then knows it is current).
func testWriteVersions(t *testing.T, s links.Store) {
	ctx := context.Background()
	v0, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got int64, err error, want int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		now, verr := s.Version(ctx)
		if verr != nil {
			t.Fatal(verr)
		}
		if got != want || now != want {
			t.Fatalf("%s returned version %d, store is at %d; want %d", what, got, now, want)
		}
	}
	_, v, err := s.Create(ctx, mk("a", "https://a.example"))
	check("Create", v, err, v0+1)
	_, v, err = s.Update(ctx, "a", mk("a", "https://b.example"))
	check("Update", v, err, v0+2)
	_, v, err = s.Update(ctx, "a", mk("Renamed", "https://b.example"))
	check("Update (rename)", v, err, v0+3)
	v, err = s.Delete(ctx, "renamed")
	check("Delete", v, err, v0+4)
	// A failed write changes nothing and claims no version.
	if _, v, err := s.Update(ctx, "gone", mk("gone", "https://c.example")); links.ErrorCode(err) != links.NotFound || v != 0 {
		t.Fatalf("Update of a missing link = %d, %v", v, err)
	}
	if now, _ := s.Version(ctx); now != v0+4 {
		t.Fatalf("a failed write moved the version to %d", now)
	}
}
