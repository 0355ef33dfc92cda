package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

func alias(name, of string) links.Link {
	l := mk(name, "")
	l.AliasOf = of
	return l
}

func mustGet(t *testing.T, s links.Store, key string) links.Link {
	t.Helper()
	l, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return l
}

func targets(t *testing.T, s links.Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := s.Targets(context.Background(), func(key, url string) error { got[key] = url; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// wantAliasErr checks that err refuses an alias at the alias_of field
// with a message that says why.
func wantAliasErr(t *testing.T, err error, code links.Code, says string) {
	t.Helper()
	wantCode(t, err, code)
	if code == links.Invalid && links.ErrorField(err) != "alias_of" {
		t.Errorf("error %q is about field %q, want alias_of", err, links.ErrorField(err))
	}
	if !strings.Contains(links.ErrorMessage(err), says) {
		t.Errorf("error %q does not say %q", err, says)
	}
}

// An alias leads where its target leads: it reads back with the target's
// current name and URL (so it follows a rename and an edit of the target
// with no change of its own), the target lists it, Targets serves it with
// the target's URL, and Each and List carry it.
func testAliases(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("kubernetes", "https://k8s.example/docs"))
	k8s := mustCreate(t, s, alias("k8s", "kubernetes"))
	if k8s.AliasOf != "kubernetes" || k8s.URL != "" || k8s.AliasURL != "https://k8s.example/docs" || k8s.Version != 1 {
		t.Fatalf("Create(alias) = %+v", k8s)
	}
	if got := mustGet(t, s, "kubernetes").Aliases; !slices.Equal(got, []string{"k8s"}) {
		t.Fatalf("target's Aliases = %q", got)
	}
	mustCreate(t, s, alias("Kube", "KUBERNETES")) // names in any spelling
	if got := mustGet(t, s, "kubernetes").Aliases; !slices.Equal(got, []string{"k8s", "Kube"}) {
		t.Fatalf("target's Aliases = %q, want key order", got)
	}
	if got := targets(t, s); got["k8s"] != "https://k8s.example/docs" || got["kube"] != "https://k8s.example/docs" || len(got) != 3 {
		t.Fatalf("Targets = %v", got)
	}

	// The target renamed and re-pointed: the alias follows, unchanged.
	cur := mustGet(t, s, "kubernetes")
	next := cur
	next.Name, next.Key, next.URL, next.UpdatedAt = "k-eight-s", links.Normalize("k-eight-s"), "https://new.example", t0.Add(1)
	next.Aliases = nil
	if _, _, err := s.Update(ctx, "kubernetes", next); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, "k8s")
	if got.AliasOf != "k-eight-s" || got.AliasURL != "https://new.example" || got.Version != 1 {
		t.Fatalf("alias after its target's rename = %+v", got)
	}
	if tg := targets(t, s); tg["k8s"] != "https://new.example" {
		t.Fatalf("Targets after the rename = %v", tg)
	}
	var each []string
	s.Each(ctx, func(l links.Link) error { each = append(each, l.Key+">"+l.AliasOf); return nil })
	if fmt.Sprint(each) != "[k8s>k-eight-s keights> kube>k-eight-s]" {
		t.Fatalf("Each = %v", each)
	}
	ls, err := s.List(ctx, links.ListOptions{Query: "kube"})
	if err != nil || len(ls) != 1 || ls[0].AliasOf != "k-eight-s" {
		t.Fatalf("List = %+v, %v", ls, err)
	}

	// An alias made a link of its own again, and back.
	own := got
	own.AliasOf, own.URL, own.UpdatedAt = "", "https://own.example", t0.Add(2)
	if got, _, err := s.Update(ctx, "k8s", own); err != nil || got.AliasOf != "" || got.URL != "https://own.example" || got.Version != 2 {
		t.Fatalf("Update(no alias) = %+v, %v", got, err)
	}
	if as := mustGet(t, s, "keights").Aliases; !slices.Equal(as, []string{"Kube"}) {
		t.Fatalf("target's Aliases = %q", as)
	}
	back := mustGet(t, s, "k8s")
	back.AliasOf, back.URL, back.Aliases = "k-eight-s", "", nil
	if got, _, err := s.Update(ctx, "k8s", back); err != nil || got.AliasOf != "k-eight-s" || got.AliasURL != "https://new.example" {
		t.Fatalf("Update(alias again) = %+v, %v", got, err)
	}
}

// Chains, cycles, missing targets and deleting a target are refused in the
// writing transaction, changing nothing.
func testAliasRefusals(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("target", "https://t.example"))
	mustCreate(t, s, alias("a", "target"))
	mustCreate(t, s, mk("other", "https://o.example"))
	v0, _ := s.Version(ctx)

	_, _, err := s.Create(ctx, alias("b", "a"))
	wantAliasErr(t, err, links.Invalid, "go/a is an alias of go/target itself")
	_, _, err = s.Create(ctx, alias("c", "missing"))
	wantAliasErr(t, err, links.Invalid, "there is no go/missing")
	// The target becoming an alias would make a chain of its aliases.
	tg := mustGet(t, s, "target")
	tg.Aliases, tg.URL, tg.AliasOf = nil, "", "other"
	_, _, err = s.Update(ctx, "target", tg)
	wantAliasErr(t, err, links.Invalid, "go/target has aliases (go/a)")
	// A cycle: other -> a is a chain already; a -> a is itself.
	a := mustGet(t, s, "a")
	a.AliasOf = "a"
	_, _, err = s.Update(ctx, "a", a)
	wantAliasErr(t, err, links.Invalid, "cannot be an alias of itself")
	_, err = s.Delete(ctx, "target")
	wantAliasErr(t, err, links.Conflict, "go/target has aliases (go/a)")

	if v, _ := s.Version(ctx); v != v0 {
		t.Fatalf("refused writes moved the version %d -> %d", v0, v)
	}
	if _, err := s.Get(ctx, "b"); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("refused alias stored: %v", err)
	}
	if got := mustGet(t, s, "target"); got.URL != "https://t.example" || got.AliasOf != "" {
		t.Fatalf("target after refusals = %+v", got)
	}
	// Once the alias is gone, the target may go.
	if _, err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "target"); err != nil {
		t.Fatal(err)
	}
}

// The history records an alias's target like any other value.
func testAliasHistory(t *testing.T, s links.Store) {
	mustCreate(t, s, mk("t1", "https://1.example"))
	mustCreate(t, s, mk("t2", "https://2.example"))
	if _, _, err := s.Create(as("ann", links.ActionCreate), alias("al", "t1")); err != nil {
		t.Fatal(err)
	}
	cur := mustGet(t, s, "al")
	cur.AliasOf, cur.UpdatedAt = "t2", t0.Add(1)
	if _, _, err := s.Update(as("bob", links.ActionUpdate), "al", cur); err != nil {
		t.Fatal(err)
	}
	cs := changes(t, s, links.ChangeQuery{LinkID: cur.ID})
	if len(cs) != 2 || cs[0].After.AliasOf != "t1" || cs[1].Before.AliasOf != "t1" || cs[1].After.AliasOf != "t2" || cs[1].Actor != "bob" {
		t.Fatalf("history = %s; values %+v", describe(cs), cs)
	}
}

// An import carries aliases: an alias may come before its target, a chain
// is stored as aliases of its end (golink resolves them hop by hop), a
// stored alias may be made a link and back, and a target that is nowhere
// refuses the whole import.
func testImportAliases(t *testing.T, s links.Store) {
	ctx := context.Background()
	mustCreate(t, s, mk("stored", "https://stored.example"))
	mustCreate(t, s, alias("old-alias", "stored"))
	in := []links.Link{
		alias("early", "late"),
		alias("chain", "early"),
		alias("tostored", "stored"),
		alias("toalias", "old-alias"), // a stored alias: its target
		mk("late", "https://late.example"),
	}
	if err := s.Import(ctx, links.All(in), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"early": "late", "chain": "late", "tostored": "stored", "toalias": "stored"} {
		if got := mustGet(t, s, key); got.AliasOf != want || got.URL != "" {
			t.Errorf("go/%s after import = alias of %q (url %q), want of %q", key, got.AliasOf, got.URL, want)
		}
	}
	if tg := targets(t, s); tg["early"] != "https://late.example" || tg["chain"] != "https://late.example" || tg["toalias"] != "https://stored.example" {
		t.Fatalf("Targets after import = %v", tg)
	}
	// Re-importing the same lines changes nothing; a line may end an alias.
	before := mustGet(t, s, "early")
	if err := s.Import(ctx, links.All([]links.Link{alias("early", "LATE")}), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "early"); got.Version != before.Version || len(changes(t, s, links.ChangeQuery{LinkID: got.ID})) != 1 {
		t.Fatalf("an unchanged alias line made a version: %d -> %d", before.Version, got.Version)
	}
	if err := s.Import(ctx, links.All([]links.Link{mk("early", "https://own.example")}), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "early"); got.AliasOf != "" || got.URL != "https://own.example" {
		t.Fatalf("early after import of a URL = %+v", got)
	}

	// A target that is nowhere, a cycle, or a stored alias left an alias
	// of an alias (go/chain, when its target go/late becomes an alias):
	// nothing is stored.
	for _, bad := range []struct {
		ls     []links.Link
		absent string
	}{
		{[]links.Link{mk("fresh", "https://fresh.example"), alias("dangling", "nowhere")}, "fresh"},
		{[]links.Link{alias("x", "y"), alias("y", "x")}, "x"},
		{[]links.Link{mk("fresh", "https://fresh.example"), alias("late", "stored")}, "fresh"},
	} {
		err := s.Import(ctx, links.All(bad.ls), links.ImportOptions{})
		wantCode(t, err, links.Invalid)
		if _, gerr := s.Get(ctx, bad.absent); links.ErrorCode(gerr) != links.NotFound {
			t.Fatalf("refused import (%v) stored go/%s: %v", err, bad.absent, gerr)
		}
	}
	if got := mustGet(t, s, "late"); got.AliasOf != "" {
		t.Fatalf("refused import changed go/late: %+v", got)
	}
}

// Two writers that would make a chain between them (x an alias of y, y
// one of x) never both win: the check is in each writing transaction, with
// the target locked (SQLite: one writer; PostgreSQL: the target's row, and
// the foreign key's lock on it; the loser may see a deadlock, a 503 to
// retry, which then refuses). Few rounds: each PostgreSQL deadlock costs
// its deadlock_timeout (1 s).
func testAliasRace(t *testing.T, s links.Store) {
	ctx := context.Background()
	for round := range 5 {
		x, y := fmt.Sprintf("x%d", round), fmt.Sprintf("y%d", round)
		mustCreate(t, s, mk(x, "https://x.example"))
		mustCreate(t, s, mk(y, "https://y.example"))
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, p := range [][2]string{{x, y}, {y, x}} {
			go func() {
				<-start
				l := alias(p[0], p[1])
				l.UpdatedAt = t0.Add(1)
				_, _, err := s.Update(ctx, p[0], l)
				errs <- err
			}()
		}
		close(start)
		for range 2 {
			if err := <-errs; err != nil {
				if c := links.ErrorCode(err); c != links.Invalid && c != links.Unavailable {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		if gx, gy := mustGet(t, s, x), mustGet(t, s, y); gx.IsAlias() && gy.IsAlias() {
			t.Fatalf("round %d: both won: %s -> %s, %s -> %s", round, x, gx.AliasOf, y, gy.AliasOf)
		}
	}
}
