package links_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// The reads that history, the directory and the deleted list add follow
// the read rules of Get and List.
func TestLifecycleReadRules(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	if _, err := svc.Create(ctx, ana, links.Input{Name: ptr("docs"), URL: ptr("https://docs.example")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, ana, links.Input{Name: ptr("gone"), URL: ptr("https://gone.example")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, ana, "gone"); err != nil {
		t.Fatal(err)
	}
	noRead := links.Principal{User: "ana@x", TokenID: "t", Scopes: []links.Scope{links.ScopeAdmin}}
	for _, tt := range []struct {
		name         string
		requireLogin bool
		who          links.Principal
		want         links.Code
	}{
		{"anonymous reads", false, anon, ""},
		{"read token reads", false, anaRead, ""},
		{"token without links:read may not", false, noRead, links.Forbidden},
		{"REQUIRE_LOGIN: anonymous may not", true, anon, links.Unauthorized},
		{"REQUIRE_LOGIN: a user may", true, bo, ""},
		{"REQUIRE_LOGIN: a read token may", true, anaRead, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc.RequireLogin = tt.requireLogin
			check := func(what string, err error) {
				t.Helper()
				if links.ErrorCode(err) != tt.want {
					t.Errorf("%s: %v, want code %q", what, err, tt.want)
				}
			}
			n, err := svc.Count(ctx, tt.who, links.ListOptions{})
			check("Count", err)
			if err == nil && n != 1 {
				t.Errorf("Count = %d, want 1", n)
			}
			check("Each", svc.Each(ctx, tt.who, func(links.Link) error { return nil }))
			cs, err := svc.History(ctx, tt.who, "docs", links.ChangeQuery{})
			check("History", err)
			if err == nil && len(cs) != 1 {
				t.Errorf("History: %d changes, want the create", len(cs))
			}
			_, err = svc.History(ctx, tt.who, "gone", links.ChangeQuery{})
			check("History of a deleted link", err)
			ds, err := svc.Deleted(ctx, tt.who, links.DeletedQuery{})
			check("Deleted", err)
			if err == nil && (len(ds) != 1 || ds[0].Name != "gone") {
				t.Errorf("Deleted = %+v, want gone", ds)
			}
		})
	}
}

// Restoring a version is an edit (the rules of Update), and bringing a
// deleted link back is one of the link as it was when deleted: its owners
// (person or group members) or an admin may, and the version's owner must
// be one they may give it to. The history names the principal's user (a
// token's owner).
func TestRestoreOwnershipRules(t *testing.T) {
	// Each link is at version 2 after one edit; "gone" is deleted after
	// that (version 3).
	owners := map[string]string{"mine": "ana@x", "team": "group:sre", "free": "", "gone": "ana@x", "teamgone": "group:sre"}
	for _, tt := range []struct {
		name string
		who  links.Principal
		link string
		want links.Code
		msg  string
	}{
		{"owner restores a version", ana, "mine", "", ""},
		{"stranger may not", bo, "mine", links.Forbidden, "owned by ana@x"},
		{"group member restores the group's", sreMember, "team", "", ""},
		{"non-member may not", bo, "team", links.Forbidden, "members of group:sre"},
		{"admin restores anyone's", admin, "mine", "", ""},
		{"anonymous may not", anon, "mine", links.Unauthorized, "sign in"},
		{"read token may not", anaRead, "mine", links.Forbidden, "links:write"},
		{"write token restores its owner's", anaWrite, "mine", "", ""},
		{"admin's token without the admin scope is no admin", adminWrite, "mine", links.Forbidden, "lacks the admin scope"},
		{"anyone restores an unowned link's version", bo, "free", "", ""},
		{"owner brings a deleted link back", ana, "gone", "", ""},
		{"stranger may not bring a deleted link back", bo, "gone", links.Forbidden, "owned by ana@x"},
		{"group member brings the group's deleted link back", sreMember, "teamgone", "", ""},
		{"non-member may not bring a group's deleted link back", bo, "teamgone", links.Forbidden, "members of group:sre"},
		{"admin brings any deleted link back", adminWithAdmin, "gone", "", ""},
		{"anonymous may not bring a deleted link back", anon, "gone", links.Unauthorized, "sign in"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newService(t)
			ctx := context.Background()
			// Seeded with ownership off, so that each version keeps its
			// owner ("free" stays unowned).
			svc.Enforce = false
			for k, o := range owners {
				if _, err := svc.Create(ctx, anon, links.Input{Name: ptr(k), URL: ptr("https://" + k + ".example/v1"), Owner: &o}); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Update(ctx, anon, k, links.Input{URL: ptr("https://" + k + ".example/v2")}); err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(k, "gone") {
					if err := svc.Delete(ctx, anon, k); err != nil {
						t.Fatal(err)
					}
				}
			}
			svc.Enforce = true
			l, err := svc.Restore(ctx, tt.who, tt.link, 1)
			if code := links.ErrorCode(err); code != tt.want || !strings.Contains(links.ErrorMessage(err), tt.msg) {
				t.Fatalf("Restore: %v (code %q), want code %q with %q", err, code, tt.want, tt.msg)
			}
			got, gerr := st.Get(ctx, tt.link)
			if tt.want != "" {
				// A refusal changed nothing: the live link is still at
				// version 2, the deleted one still deleted.
				if strings.HasSuffix(tt.link, "gone") {
					if links.ErrorCode(gerr) != links.NotFound {
						t.Fatalf("a refused restore brought %s back: %+v %v", tt.link, got, gerr)
					}
				} else if gerr != nil || got.Version != 2 {
					t.Fatalf("a refused restore changed %s: %+v %v", tt.link, got, gerr)
				}
				return
			}
			if gerr != nil || got.URL != "https://"+tt.link+".example/v1" || l.URL != got.URL {
				t.Fatalf("after restore: %+v %v", got, gerr)
			}
			cs, err := svc.Store.Changes(ctx, links.ChangeQuery{LinkID: got.ID, Desc: true, Limit: 1})
			if err != nil || len(cs) != 1 {
				t.Fatalf("history: %v %v", cs, err)
			}
			if cs[0].Action != links.ActionRestore || cs[0].Actor != tt.who.User {
				t.Fatalf("the restore's history entry: %s by %q, want restore by %q", cs[0].Action, cs[0].Actor, tt.who.User)
			}
		})
	}
}

// A restore that would put back an owner the principal may not give the
// link to is refused, for a live link and a deleted one: a former owner
// cannot take back a link they handed on by restoring an old version.
func TestRestoreCannotTakeBack(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	if _, err := svc.Create(ctx, ana, links.Input{Name: ptr("handed"), URL: ptr("https://h.example")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, ana, "handed", links.Input{Owner: ptr("bo@x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(ctx, ana, "handed", 1); !strings.Contains(links.ErrorMessage(err), "owned by bo@x") {
		t.Fatalf("former owner restores: %v", err)
	}
	// The new owner may put the old version back (handing it back).
	if l, err := svc.Restore(ctx, bo, "handed", 1); err != nil || l.Owner != "ana@x" {
		t.Fatalf("new owner restores: %+v %v", l, err)
	}

	// A group's link handed to bo and deleted by him: the group's members
	// may not bring back the version the group owned; an admin may.
	if _, err := svc.Create(ctx, sreMember, links.Input{Name: ptr("oncall"), URL: ptr("https://o.example"), Owner: ptr("group:sre")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, sreMember, "oncall", links.Input{Owner: ptr("bo@x")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, bo, "oncall"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(ctx, sreMember, "oncall", 1); links.ErrorCode(err) != links.Forbidden || !strings.Contains(links.ErrorMessage(err), "owned by bo@x") {
		t.Fatalf("group member restores what bo deleted: %v", err)
	}
	if _, err := st.Get(ctx, "oncall"); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("a refused restore brought it back: %v", err)
	}
	// Its owner when deleted may bring back that version, which hands it
	// back to the group (an owner may hand a link to anybody).
	if l, err := svc.Restore(ctx, bo, "oncall", 1); err != nil || l.Owner != "group:sre" {
		t.Fatalf("bo restores: %+v %v", l, err)
	}

	// An unowned deleted link may be brought back by anyone, but not
	// with a version that gives it to a third person.
	if _, err := svc.Create(ctx, admin, links.Input{Name: ptr("shared"), URL: ptr("https://s.example"), Owner: ptr("ana@x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, ana, "shared", links.Input{Owner: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, bo, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Restore(ctx, bo, "shared", 1); links.ErrorCode(err) != links.Forbidden || !strings.Contains(links.ErrorMessage(err), "has no owner") {
		t.Fatalf("bo restores an unowned link as ana's: %v", err)
	}
	if l, err := svc.Restore(ctx, bo, "shared", 2); err != nil || l.Owner != "" {
		t.Fatalf("bo restores the unowned version: %+v %v", l, err)
	}
}

// Every write's history entry names the principal's user; a token's
// writes are its owner's.
func TestHistoryActorIsThePrincipal(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	l, err := svc.Create(ctx, anaWrite, links.Input{Name: ptr("docs"), URL: ptr("https://docs.example")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, sreMember, "docs", links.Input{Owner: ptr("group:sre")}); links.ErrorCode(err) != links.Forbidden {
		t.Fatalf("a stranger's update: %v", err)
	}
	if _, err := svc.Update(ctx, admin, "docs", links.Input{Description: ptr("by the admin")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, ana, "docs"); err != nil {
		t.Fatal(err)
	}
	cs, err := svc.History(ctx, anon, "docs", links.ChangeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		if c.LinkID != l.ID {
			t.Fatalf("change of another link: %+v", c)
		}
		got = append(got, string(c.Action)+" "+c.Actor)
	}
	if strings.Join(got, ", ") != "create ana@x, update root@x, delete ana@x" {
		t.Fatalf("history = %v", got)
	}
}

// The audit log: everyone (who may read) with ownership off; admins only
// with it on, an admin's token only with the admin scope.
func TestAuditRules(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	if _, err := svc.Create(ctx, ana, links.Input{Name: ptr("docs"), URL: ptr("https://docs.example")}); err != nil {
		t.Fatal(err)
	}
	noRead := links.Principal{User: "root@x", Admin: true, TokenID: "t", Scopes: []links.Scope{links.ScopeAdmin}}
	for _, tt := range []struct {
		name    string
		enforce bool
		who     links.Principal
		want    links.Code
		msg     string
	}{
		{"none mode: anonymous reads it", false, anon, "", ""},
		{"none mode: a token without links:read may not", false, links.Principal{User: "ana@x", TokenID: "t", Scopes: []links.Scope{links.ScopeAdmin}}, links.Forbidden, "links:read"},
		{"anonymous may not", true, anon, links.Unauthorized, "sign in"},
		{"a user may not", true, bo, links.Forbidden, "administrators"},
		{"an admin may", true, admin, "", ""},
		{"an admin's token without the admin scope may not", true, adminWrite, links.Forbidden, "lacks the admin scope"},
		{"an admin's token with it may", true, adminWithAdmin, "", ""},
		{"an admin's token with only the admin scope may not read links", true, noRead, links.Forbidden, "links:read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc.Enforce = tt.enforce
			err := svc.MayReadAudit(tt.who)
			if code := links.ErrorCode(err); code != tt.want || !strings.Contains(links.ErrorMessage(err), tt.msg) {
				t.Fatalf("MayReadAudit: %v (code %q), want code %q with %q", err, code, tt.want, tt.msg)
			}
			cs, err := svc.Audit(ctx, tt.who, links.ChangeQuery{})
			if links.ErrorCode(err) != tt.want || (err == nil && len(cs) != 1) {
				t.Fatalf("Audit: %d changes, %v; want code %q", len(cs), err, tt.want)
			}
		})
	}
}

// Click counts and times are imported only for an admin who asks; anyone
// else asking is refused, and nothing is imported.
func TestImportStatsRules(t *testing.T) {
	ctx := context.Background()
	last := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	line := links.Link{Name: "docs", Key: "docs", URL: "https://docs.example", Clicks: 42, LastClickedAt: last, CreatedAt: created, UpdatedAt: created}
	for _, tt := range []struct {
		name    string
		enforce bool
		who     links.Principal
		stats   bool
		want    links.Code
		clicks  int64
	}{
		{"admin keeps the stats", true, admin, true, "", 42},
		{"admin's token with the admin scope keeps them", true, adminWithAdmin, true, "", 42},
		{"admin's token without it may not", true, adminWrite, true, links.Forbidden, 0},
		{"a user may not", true, ana, true, links.Forbidden, 0},
		{"none mode: nobody is an admin", false, anon, true, links.Forbidden, 0},
		{"without stats: a user's import starts at 0", true, ana, false, "", 0},
		{"without stats: an admin's too", true, admin, false, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newService(t)
			svc.Enforce = tt.enforce
			_, err := svc.Import(ctx, tt.who, links.All([]links.Link{line}), links.ImportOptions{Stats: tt.stats})
			if code := links.ErrorCode(err); code != tt.want {
				t.Fatalf("Import: %v, want code %q", err, tt.want)
			}
			if tt.want != "" {
				if !strings.Contains(links.ErrorMessage(err), "only admins may import click counts") {
					t.Errorf("refusal says %q", links.ErrorMessage(err))
				}
				if _, err := st.Get(ctx, "docs"); links.ErrorCode(err) != links.NotFound {
					t.Fatalf("a refused import stored the line: %v", err)
				}
				return
			}
			l, err := st.Get(ctx, "docs")
			if err != nil || l.Clicks != tt.clicks {
				t.Fatalf("stored %+v, %v; want %d clicks", l, err, tt.clicks)
			}
			if kept := l.LastClickedAt.Equal(last) && l.CreatedAt.Equal(created); kept != tt.stats {
				t.Fatalf("last click %v, created %v: kept %v, want %v", l.LastClickedAt, l.CreatedAt, kept, tt.stats)
			}
		})
	}
}
