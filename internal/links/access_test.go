package links_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// newService is a Service on a real SQLite file, with ownership enforced.
func newService(t *testing.T) (*links.Service, *sqlite.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "svc.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, st); err != nil {
		t.Fatal(err)
	}
	return &links.Service{Store: st, Index: ix, Tokens: st, Enforce: true}, st
}

var (
	anon      = links.Principal{}
	ana       = links.Principal{User: "ana@x", Groups: []string{"sre"}}
	bo        = links.Principal{User: "bo@x", Groups: []string{"web"}}
	sreMember = links.Principal{User: "cy@x", Groups: []string{"db", "sre"}}
	admin     = links.Principal{User: "root@x", Admin: true}
	// Tokens act as their owner within their scopes.
	anaRead        = links.Principal{User: "ana@x", Groups: []string{"sre"}, TokenID: "t1", Scopes: []links.Scope{links.ScopeRead}}
	anaWrite       = links.Principal{User: "ana@x", Groups: []string{"sre"}, TokenID: "t2", Scopes: []links.Scope{links.ScopeWrite}}
	sreWrite       = links.Principal{User: "cy@x", Groups: []string{"sre"}, TokenID: "t3", Scopes: []links.Scope{links.ScopeWrite}}
	adminWrite     = links.Principal{User: "root@x", Admin: true, TokenID: "t4", Scopes: []links.Scope{links.ScopeWrite}}
	adminWithAdmin = links.Principal{User: "root@x", Admin: true, TokenID: "t5", Scopes: []links.Scope{links.ScopeWrite, links.ScopeAdmin}}
)

// TestOwnershipRules is every rule of who may change what, across users,
// group members, admins and tokens, over the service on a real store.
func TestOwnershipRules(t *testing.T) {
	owners := map[string]string{"mine": "ana@x", "team": "group:sre", "free": ""}
	tests := []struct {
		name string
		who  links.Principal
		link string // key of the link acted on (owners above); "" for a create
		do   string // edit, delete, give:OWNER, create:OWNER
		want links.Code
		msg  string // part of the refusal's message
	}{
		// Editing and deleting.
		{"owner edits", ana, "mine", "edit", "", ""},
		{"owner deletes", ana, "mine", "delete", "", ""},
		{"stranger may not edit", bo, "mine", "edit", links.Forbidden, "go/mine is owned by ana@x; only ana@x or an admin may change it"},
		{"stranger may not delete", bo, "mine", "delete", links.Forbidden, "owned by ana@x"},
		{"anonymous may not edit", anon, "mine", "edit", links.Unauthorized, "sign in"},
		{"group member edits", sreMember, "team", "edit", "", ""},
		{"group member deletes", sreMember, "team", "delete", "", ""},
		{"non-member may not edit a group's link", bo, "team", "edit", links.Forbidden, "owned by group:sre; only members of group:sre or an admin"},
		{"admin edits anyone's", admin, "mine", "edit", "", ""},
		{"admin edits a group's", admin, "team", "edit", "", ""},
		{"admin deletes anyone's", admin, "mine", "delete", "", ""},
		{"anyone edits (and claims) an unowned link", bo, "free", "edit", "", ""},
		// Giving a link to a new owner.
		{"owner hands it to anybody", ana, "mine", "give:bo@x", "", ""},
		{"owner gives it to a group of theirs", ana, "mine", "give:group:sre", "", ""},
		{"group member hands the group's link on", sreMember, "team", "give:group:db", "", ""},
		{"admin transfers anyone's", admin, "mine", "give:bo@x", "", ""},
		{"admin transfers to any group", admin, "team", "give:group:web", "", ""},
		{"unowned: claim for oneself", bo, "free", "give:bo@x", "", ""},
		{"unowned: claim for one's group", bo, "free", "give:group:web", "", ""},
		{"unowned: not to a third person", bo, "free", "give:ana@x", links.Forbidden, "has no owner: you may claim it"},
		{"unowned: not to a group one is not in", bo, "free", "give:group:sre", links.Forbidden, "not a member of group:sre"},
		{"stranger may not take it", bo, "mine", "give:bo@x", links.Forbidden, "owned by ana@x"},
		// Creating.
		{"create for oneself", bo, "", "create:", "", ""},
		{"create for one's group", ana, "", "create:group:sre", "", ""},
		{"create not for a group one is not in", bo, "", "create:group:sre", links.Forbidden, "not a member of group:sre"},
		{"create not for another person", bo, "", "create:ana@x", links.Forbidden, "may not give"},
		{"admin creates for anybody", admin, "", "create:ana@x", "", ""},
		{"anonymous may not create", anon, "", "create:", links.Unauthorized, "sign in"},
		// Tokens: their owner's rights, within their scopes.
		{"read token may not edit", anaRead, "mine", "edit", links.Forbidden, "lacks the links:write scope"},
		{"read token may not create", anaRead, "", "create:", links.Forbidden, "lacks the links:write scope"},
		{"write token edits its owner's link", anaWrite, "mine", "edit", "", ""},
		{"write token edits its owner's group's link", sreWrite, "team", "edit", "", ""},
		{"write token may not edit a stranger's", sreWrite, "mine", "edit", links.Forbidden, "owned by ana@x"},
		{"admin's token without admin scope is no admin", adminWrite, "mine", "edit", links.Forbidden, "lacks the admin scope"},
		{"admin's token with admin scope is", adminWithAdmin, "mine", "delete", "", ""},
		{"admin's token without admin scope may not transfer", adminWrite, "", "create:ana@x", links.Forbidden, "may not give"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newService(t)
			ctx := context.Background()
			var seed []links.Link
			for k, o := range owners {
				seed = append(seed, links.Link{Name: k, Key: k, URL: "https://" + k + ".example", Owner: o})
			}
			if err := st.Import(ctx, links.All(seed), links.ImportOptions{Stats: true}); err != nil {
				t.Fatal(err)
			}
			var err error
			var got links.Link
			verb, arg, _ := strings.Cut(tt.do, ":")
			switch verb {
			case "edit":
				got, err = svc.Update(ctx, tt.who, tt.link, links.Input{Description: ptr("changed")})
			case "delete":
				err = svc.Delete(ctx, tt.who, tt.link)
			case "give":
				got, err = svc.Update(ctx, tt.who, tt.link, links.Input{Owner: &arg})
			case "create":
				got, err = svc.Create(ctx, tt.who, links.Input{Name: ptr("new"), URL: ptr("https://new.example"), Owner: &arg})
			}
			if code := links.ErrorCode(err); code != tt.want || !strings.Contains(links.ErrorMessage(err), tt.msg) {
				t.Fatalf("%s: error %v (code %q), want code %q with %q", tt.do, err, code, tt.want, tt.msg)
			}
			if tt.want != "" {
				// A refusal changed nothing.
				if tt.link != "" {
					l, gerr := st.Get(ctx, tt.link)
					if gerr != nil || l.Owner != owners[tt.link] || l.Description != "" {
						t.Fatalf("refused %s changed the link: %+v, %v", tt.do, l, gerr)
					}
				} else if _, gerr := st.Get(ctx, "new"); links.ErrorCode(gerr) != links.NotFound {
					t.Fatalf("refused create stored the link: %v", gerr)
				}
				return
			}
			switch verb {
			case "give":
				if got.Owner != arg {
					t.Fatalf("owner after give = %q, want %q", got.Owner, arg)
				}
			case "create":
				want := arg
				if want == "" {
					want = tt.who.User
				}
				if got.Owner != want {
					t.Fatalf("owner of the new link = %q, want %q", got.Owner, want)
				}
			case "edit":
				if tt.link == "free" && got.Owner != tt.who.User {
					t.Fatalf("editing an unowned link did not claim it: owner %q", got.Owner)
				}
				if tt.link != "free" && got.Owner != owners[tt.link] {
					t.Fatalf("an edit changed the owner to %q", got.Owner)
				}
			}
		})
	}
}

// MayEdit's answer is what the link page shows: who may, and why not.
func TestMayEditSaysWhy(t *testing.T) {
	svc, _ := newService(t)
	team := links.Link{Name: "oncall", Key: "oncall", Owner: "group:sre"}
	for _, tt := range []struct {
		who  links.Principal
		want string
	}{
		{sreMember, ""},
		{admin, ""},
		{bo, "go/oncall is owned by group:sre; only members of group:sre or an admin may change it"},
		{anon, "sign in to change links"},
		{adminWrite, "(this token lacks the admin scope)"},
	} {
		err := svc.MayEdit(tt.who, team)
		if got := links.ErrorMessage(err); (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(got, tt.want)) {
			t.Errorf("MayEdit(%s) = %v, want %q", tt.who.User, err, tt.want)
		}
	}
	svc.Enforce = false
	if err := svc.MayEdit(bo, team); err != nil {
		t.Errorf("AUTH_MODE=none: MayEdit = %v, want everyone allowed", err)
	}
	if err := svc.MayEdit(anaRead, team); links.ErrorCode(err) != links.Forbidden {
		t.Errorf("AUTH_MODE=none: a read-only token may edit: %v", err)
	}
}

func TestReadRules(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	if _, err := svc.Create(ctx, ana, links.Input{Name: ptr("docs"), URL: ptr("https://docs.example")}); err != nil {
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
		{"write token reads (write implies read)", false, anaWrite, ""},
		{"token without links:read may not", false, noRead, links.Forbidden},
		{"REQUIRE_LOGIN: anonymous may not", true, anon, links.Unauthorized},
		{"REQUIRE_LOGIN: a user may", true, bo, ""},
		{"REQUIRE_LOGIN: a read token may", true, anaRead, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc.RequireLogin = tt.requireLogin
			_, err := svc.Get(ctx, tt.who, "docs")
			if links.ErrorCode(err) != tt.want {
				t.Fatalf("Get: %v, want code %q", err, tt.want)
			}
			_, err = svc.List(ctx, tt.who, links.ListOptions{})
			if links.ErrorCode(err) != tt.want {
				t.Fatalf("List: %v, want code %q", err, tt.want)
			}
		})
	}
}

func TestOwnerSearch(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	err := st.Import(ctx, links.All([]links.Link{
		{Name: "a", Key: "a", URL: "https://a.example", Owner: "ana@x"},
		{Name: "b", Key: "b", URL: "https://b.example", Owner: "group:sre"},
		{Name: "c", Key: "c", URL: "https://c.example", Owner: "bo@x"},
		{Name: "sre-docs", Key: "sredocs", URL: "https://docs.example", Owner: "group:sre"},
	}), links.ImportOptions{Stats: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		q    string
		who  links.Principal
		want string
		code links.Code
	}{
		{"owner:me", ana, "a b sre-docs", ""},
		{"owner:me", bo, "c", ""},
		{"owner:me docs", ana, "sre-docs", ""},
		{"owner:bo@x", ana, "c", ""},
		{"owner:group:sre", anon, "b sre-docs", ""},
		{"owner:me", anon, "", links.Unauthorized},
		{"owner:", ana, "", links.Invalid},
		{"docs", anon, "sre-docs", ""},
	} {
		// The raw query, and what a search box makes of it (ParseSearch
		// takes owner:me out as ListOptions.Owner "me"); Count agrees.
		opts := []links.ListOptions{{Query: tt.q}}
		if tt.q != "owner:" { // ParseSearch leaves a bare "owner:" as text
			opts = append(opts, links.ParseSearch(tt.q))
		}
		for _, opt := range opts {
			ls, err := svc.List(ctx, tt.who, opt)
			n, cerr := svc.Count(ctx, tt.who, opt)
			if links.ErrorCode(err) != tt.code || links.ErrorCode(cerr) != tt.code {
				t.Errorf("%+v as %q: %v, count %v; want code %q", opt, tt.who.User, err, cerr, tt.code)
				continue
			}
			var names []string
			for _, l := range ls {
				names = append(names, l.Name)
			}
			if got := strings.Join(names, " "); got != tt.want || (err == nil && n != len(ls)) {
				t.Errorf("%+v as %q = %q (count %d), want %q", opt, tt.who.User, got, n, tt.want)
			}
		}
	}
}

// Import over the API follows the same rules.
func TestImportRules(t *testing.T) {
	ctx := context.Background()
	seed := []links.Link{
		{Name: "mine", Key: "mine", URL: "https://m.example", Owner: "ana@x"},
		{Name: "team", Key: "team", URL: "https://t.example", Owner: "group:sre"},
	}
	line := func(name, owner string) links.Link {
		return links.Link{Name: name, Key: links.Normalize(name), URL: "https://new.example/" + name, Owner: owner}
	}
	for _, tt := range []struct {
		name   string
		who    links.Principal
		lines  []links.Link
		want   links.Code
		owners map[string]string
	}{
		{"group member keeps the group as owner", sreMember, []links.Link{line("team", ""), line("fresh", "")}, "",
			map[string]string{"team": "group:sre", "fresh": "cy@x"}},
		{"a line's owner of the importer's own is kept", sreMember, []links.Link{line("fresh", "group:db")}, "",
			map[string]string{"fresh": "group:db"}},
		{"someone else's owner in the file is replaced by the importer", bo, []links.Link{line("fresh", "ana@x")}, "",
			map[string]string{"fresh": "bo@x"}},
		{"a link of someone else refuses everything", bo, []links.Link{line("fresh", ""), line("mine", "")}, links.Forbidden, nil},
		{"admin keeps the file's owners", admin, []links.Link{line("mine", "bo@x"), line("fresh", "group:web")}, "",
			map[string]string{"mine": "bo@x", "fresh": "group:web"}},
		{"read token may not import", anaRead, []links.Link{line("fresh", "")}, links.Forbidden, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, st := newService(t)
			if err := st.Import(ctx, links.All(seed), links.ImportOptions{Stats: true}); err != nil {
				t.Fatal(err)
			}
			_, err := svc.Import(ctx, tt.who, links.All(tt.lines), links.ImportOptions{})
			if links.ErrorCode(err) != tt.want {
				t.Fatalf("Import: %v, want code %q", err, tt.want)
			}
			if tt.want != "" {
				if _, err := st.Get(ctx, "fresh"); links.ErrorCode(err) != links.NotFound {
					t.Fatal("a refused import stored a line")
				}
				return
			}
			for k, o := range tt.owners {
				l, err := st.Get(ctx, k)
				if err != nil || l.Owner != o {
					t.Errorf("%s: owner %q, %v; want %q", k, l.Owner, err, o)
				}
			}
		})
	}
}

func TestValidateOwner(t *testing.T) {
	for owner, ok := range map[string]bool{
		"": true, "ana@example.com": true, "group:sre": true, "group:web team": true, "group:6f1c2b7e-0000-4a4a-9999-1234567890ab": true,
		"group:": false, "group: sre": false, "ana\n@x": false, "a\x00": false, "\xff": false, strings.Repeat("a", links.MaxOwnerLen+1): false,
	} {
		if err := links.ValidateOwner(owner); (err == nil) != ok {
			t.Errorf("ValidateOwner(%q) = %v, want ok %v", owner, err, ok)
		}
	}
	svc, _ := newService(t)
	_, err := svc.Create(context.Background(), admin, links.Input{Name: ptr("x"), URL: ptr("https://x.example"), Owner: ptr("group:")})
	if links.ErrorCode(err) != links.Invalid {
		t.Fatalf("create with owner group: = %v", err)
	}
}
