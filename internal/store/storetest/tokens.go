package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

func testListByOwner(t *testing.T, s links.Store) {
	ctx := context.Background()
	for _, l := range []struct{ name, owner string }{
		{"a", "ana@x"}, {"b", "group:sre"}, {"c", "bo@x"}, {"d", ""}, {"sre-docs", "group:sre"},
	} {
		in := mk(l.name, "https://"+l.name+".example")
		in.Owner = l.owner
		mustCreate(t, s, in)
	}
	for _, tc := range []struct {
		opt  links.ListOptions
		want string
	}{
		{links.ListOptions{Owners: []string{"ana@x"}}, "[a]"},
		{links.ListOptions{Owners: []string{"ana@x", "group:sre"}}, "[a b sredocs]"},
		{links.ListOptions{Owners: []string{"group:sre"}, Query: "docs"}, "[sredocs]"},
		{links.ListOptions{Owners: []string{"group:sre"}, Query: "zzz"}, "[]"},
		{links.ListOptions{Owners: []string{"nobody@x"}}, "[]"},
		{links.ListOptions{Owners: []string{"group:sre", "bo@x"}, Sort: links.SortName, Limit: 2}, "[b c]"},
	} {
		got, err := s.List(ctx, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, l := range got {
			keys = append(keys, l.Key)
		}
		if g := fmt.Sprint(keys); g != tc.want {
			t.Errorf("List(%+v) = %s, want %s", tc.opt, g, tc.want)
		}
	}
}

// RunTokens is the conformance suite of links.TokenStore. open must return
// an empty, migrated store; the suite closes it.
func RunTokens(t *testing.T, open func(t *testing.T) interface {
	links.TokenStore
	Close() error
}) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s links.TokenStore)
	}{
		{"CreateGet", testTokenCreateGet},
		{"ListByOwner", testTokenList},
		{"Delete", testTokenDelete},
		{"Touch", testTokenTouch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

func mkToken(id, owner string, created time.Time) links.Token {
	h := sha256.Sum256([]byte(id))
	return links.Token{ID: id, Owner: owner, Name: "token " + id, Scopes: []links.Scope{links.ScopeRead}, Hash: h[:], CreatedAt: created}
}

func testTokenCreateGet(t *testing.T, s links.TokenStore) {
	ctx := context.Background()
	in := mkToken("0123456789abcdef", "ana@x", t0)
	in.Groups = []string{"sre", "web team"}
	in.Scopes = []links.Scope{links.ScopeRead, links.ScopeWrite, links.ScopeAdmin}
	in.ExpiresAt = t0.Add(24 * time.Hour)
	if err := s.CreateToken(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(in) {
		t.Fatalf("Token = %+v\nwant    %+v", got, in)
	}
	wantCode(t, s.CreateToken(ctx, in), links.Conflict)
	_, err = s.Token(ctx, "nope")
	wantCode(t, err, links.NotFound)

	// No groups, no expiry: they read back as nil and zero.
	bare := mkToken("fedcba9876543210", "bo@x", t0)
	if err := s.CreateToken(ctx, bare); err != nil {
		t.Fatal(err)
	}
	got, err = s.Token(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Groups != nil || !got.ExpiresAt.IsZero() || !got.LastUsedAt.IsZero() {
		t.Fatalf("bare token read back as %+v", got)
	}
}

func testTokenList(t *testing.T, s links.TokenStore) {
	ctx := context.Background()
	for i, o := range []string{"ana@x", "bo@x", "ana@x"} {
		if err := s.CreateToken(ctx, mkToken(fmt.Sprintf("%016d", i), o, t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(owner string) string {
		t.Helper()
		ts, err := s.Tokens(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID[15:])
		}
		return fmt.Sprint(out)
	}
	if got := ids("ana@x"); got != "[2 0]" {
		t.Errorf("ana's tokens = %s, want newest first [2 0]", got)
	}
	if got := ids(""); got != "[2 1 0]" {
		t.Errorf("all tokens = %s", got)
	}
	if got := ids("nobody@x"); got != "[]" {
		t.Errorf("nobody's tokens = %s", got)
	}
}

func testTokenDelete(t *testing.T, s links.TokenStore) {
	ctx := context.Background()
	tk := mkToken("0000000000000001", "ana@x", t0)
	if err := s.CreateToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Token(ctx, tk.ID)
	wantCode(t, err, links.NotFound)
	wantCode(t, s.DeleteToken(ctx, tk.ID), links.NotFound)
}

func testTokenTouch(t *testing.T, s links.TokenStore) {
	ctx := context.Background()
	tk := mkToken("0000000000000001", "ana@x", t0)
	if err := s.CreateToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	if err := s.TouchToken(ctx, tk.ID, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(at) {
		t.Fatalf("last used = %v, want %v", got.LastUsedAt, at)
	}
	// Touching a revoked token is no error (a request raced the revocation).
	if err := s.TouchToken(ctx, "gone000000000000", at); err != nil {
		t.Fatal(err)
	}
}
