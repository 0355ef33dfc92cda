package links_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

func TestTokenLifecycle(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }

	tok, err := svc.CreateToken(ctx, ana, links.TokenInput{Name: " CI bot ", Scopes: []links.Scope{links.ScopeRead, links.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, links.TokenPrefix+tok.ID+"_") || tok.Name != "CI bot" || len(tok.Scopes) != 1 {
		t.Fatalf("new token %+v", tok)
	}
	// Only a hash is stored: the stored row holds no part of the secret.
	stored, err := st.Token(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(tok.Secret, links.TokenPrefix+tok.ID+"_")
	if h := sha256.Sum256([]byte(secret)); string(stored.Hash) != string(h[:]) {
		t.Fatal("stored hash is not the SHA-256 of the secret")
	}
	if strings.Contains(string(stored.Hash), secret) {
		t.Fatal("the secret is stored")
	}

	p, err := svc.Authenticate(ctx, tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.User != "ana@x" || p.TokenID != tok.ID || len(p.Groups) != 1 || p.Groups[0] != "sre" || !p.Has(links.ScopeRead) || p.Has(links.ScopeWrite) {
		t.Fatalf("principal %+v", p)
	}
	// Last-used is written, but at most once a minute.
	if got, _ := st.Token(ctx, tok.ID); !got.LastUsedAt.Equal(now) {
		t.Fatalf("last used = %v, want %v", got.LastUsedAt, now)
	}
	first := now
	now = now.Add(30 * time.Second)
	if _, err := svc.Authenticate(ctx, tok.Secret); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Token(ctx, tok.ID); !got.LastUsedAt.Equal(first) {
		t.Fatalf("last used rewritten within a minute: %v", got.LastUsedAt)
	}
	now = now.Add(time.Minute)
	svc.Authenticate(ctx, tok.Secret)
	if got, _ := st.Token(ctx, tok.ID); !got.LastUsedAt.Equal(now) {
		t.Fatalf("last used after a minute = %v, want %v", got.LastUsedAt, now)
	}

	// Bad secrets: all Unauthorized.
	for _, bad := range []string{
		"", "nonsense", links.TokenPrefix + tok.ID + "_" + strings.Repeat("A", 43),
		links.TokenPrefix + tok.ID + "_" + secret[:42] + "x",
		links.TokenPrefix + "0000000000000000_" + secret,
		tok.Secret + "x",
	} {
		if _, err := svc.Authenticate(ctx, bad); links.ErrorCode(err) != links.Unauthorized {
			t.Errorf("Authenticate(%q) = %v, want unauthorized", bad, err)
		}
	}

	// Listing and revoking: the owner and admins; others do not even see it.
	if ts, err := svc.ListTokens(ctx, ana, false); err != nil || len(ts) != 1 {
		t.Fatalf("ana's tokens: %v, %v", ts, err)
	}
	if ts, err := svc.ListTokens(ctx, bo, false); err != nil || len(ts) != 0 {
		t.Fatalf("bo's tokens: %v, %v", ts, err)
	}
	if _, err := svc.ListTokens(ctx, bo, true); links.ErrorCode(err) != links.Forbidden {
		t.Fatalf("bo listing everyone's: %v", err)
	}
	if ts, err := svc.ListTokens(ctx, admin, true); err != nil || len(ts) != 1 {
		t.Fatalf("admin listing everyone's: %v, %v", ts, err)
	}
	if err := svc.RevokeToken(ctx, bo, tok.ID); links.ErrorCode(err) != links.NotFound {
		t.Fatalf("bo revoking ana's token: %v", err)
	}
	if err := svc.RevokeToken(ctx, anaRead, tok.ID); links.ErrorCode(err) != links.Forbidden {
		t.Fatalf("a token without the admin scope revoking: %v", err)
	}
	if err := svc.RevokeToken(ctx, admin, tok.ID); err != nil {
		t.Fatalf("admin revoking: %v", err)
	}
	// Revoked: refused at once, never anonymous.
	if _, err := svc.Authenticate(ctx, tok.Secret); links.ErrorCode(err) != links.Unauthorized {
		t.Fatalf("revoked token: %v", err)
	}
}

func TestTokenExpiry(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	tok, err := svc.CreateToken(ctx, ana, links.TokenInput{Name: "short", Scopes: []links.Scope{links.ScopeWrite}, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok.Secret); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	_, err = svc.Authenticate(ctx, tok.Secret)
	if links.ErrorCode(err) != links.Unauthorized || !strings.Contains(links.ErrorMessage(err), "expired") {
		t.Fatalf("expired token: %v", err)
	}
}

func TestCreateTokenRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		who  links.Principal
		in   links.TokenInput
		want links.Code
	}{
		{"user", ana, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeWrite}}, ""},
		{"anonymous", anon, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeRead}}, links.Unauthorized},
		{"no name", ana, links.TokenInput{Scopes: []links.Scope{links.ScopeRead}}, links.Invalid},
		{"long name", ana, links.TokenInput{Name: strings.Repeat("n", 101), Scopes: []links.Scope{links.ScopeRead}}, links.Invalid},
		{"no scope", ana, links.TokenInput{Name: "a"}, links.Invalid},
		{"unknown scope", ana, links.TokenInput{Name: "a", Scopes: []links.Scope{"links:everything"}}, links.Invalid},
		{"admin scope for a non-admin", ana, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeAdmin}}, links.Forbidden},
		{"admin scope for an admin", admin, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeAdmin}}, ""},
		{"expiry in the past", ana, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeRead}, ExpiresAt: now.Add(-time.Second)}, links.Invalid},
		{"a token may not make tokens", anaWrite, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeRead}}, links.Forbidden},
		{"an admin token may", adminWithAdmin, links.TokenInput{Name: "a", Scopes: []links.Scope{links.ScopeRead}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t)
			svc.Now = func() time.Time { return now }
			_, err := svc.CreateToken(context.Background(), tt.who, tt.in)
			if links.ErrorCode(err) != tt.want {
				t.Fatalf("CreateToken: %v, want code %q", err, tt.want)
			}
		})
	}
}

func TestTokensPerUserBounded(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	for i := range links.MaxTokensPerUser {
		if _, err := svc.CreateToken(ctx, bo, links.TokenInput{Name: "t", Scopes: []links.Scope{links.ScopeRead}}); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	if _, err := svc.CreateToken(ctx, bo, links.TokenInput{Name: "t", Scopes: []links.Scope{links.ScopeRead}}); links.ErrorCode(err) != links.Conflict {
		t.Fatalf("token %d: %v, want conflict", links.MaxTokensPerUser+1, err)
	}
}
