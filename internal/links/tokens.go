package links

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Token is a personal API token. Its secret is never stored: only the
// SHA-256 of it (the secret is 256 random bits, so a plain hash is enough
// and a slow password hash would only slow every API call).
type Token struct {
	// ID is public: it names the token in lists and in DELETE.
	ID    string
	Owner string
	// Groups are the owner's groups when the token was made: a token acts
	// as its owner did then.
	Groups     []string
	Name       string
	Scopes     []Scope
	Hash       []byte // SHA-256 of the secret part
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
	ExpiresAt  time.Time // zero when it never expires
}

// TokenStore keeps API tokens. Every backend must pass storetest.RunTokens.
type TokenStore interface {
	// CreateToken stores t; Conflict when its ID exists.
	CreateToken(ctx context.Context, t Token) error
	// Token returns the token with id; NotFound when there is none.
	Token(ctx context.Context, id string) (Token, error)
	// Tokens returns owner's tokens ("" for everyone's), newest first.
	Tokens(ctx context.Context, owner string) ([]Token, error)
	// DeleteToken removes a token; NotFound when there is none.
	DeleteToken(ctx context.Context, id string) error
	// TouchToken sets the token's last-used time.
	TouchToken(ctx context.Context, id string, at time.Time) error
}

const (
	// TokenPrefix starts every token, so that secret scanners and people
	// can tell one: "sp_" + ID + "_" + secret.
	TokenPrefix = "sp_"
	// MaxTokensPerUser bounds what one user may keep.
	MaxTokensPerUser = 100
	// MaxTokenNameLen is the longest token name, in bytes.
	MaxTokenNameLen = 100
	// touchEvery: the last-used time is written at most this often per
	// token, not on every request.
	touchEvery = time.Minute
)

// TokenInput is a request for a new token.
type TokenInput struct {
	Name      string
	Scopes    []Scope
	ExpiresAt time.Time // zero: never
}

// NewToken is a token just made, with its secret: shown once.
type NewToken struct {
	Token
	Secret string
}

// mayManageTokens: a person, or a token with the admin scope.
func mayManageTokens(p Principal) error {
	if p.Anonymous() {
		return Errorf(Unauthorized, "sign in to manage API tokens")
	}
	if !p.Has(ScopeAdmin) {
		return Errorf(Forbidden, "this token lacks the %s scope, which managing tokens needs", ScopeAdmin)
	}
	return nil
}

func (s *Service) tokens() (TokenStore, error) {
	if s.Tokens == nil {
		return nil, Errorf(Unavailable, "this server keeps no API tokens")
	}
	return s.Tokens, nil
}

// CreateToken makes a token for p's user, acting with p's groups.
func (s *Service) CreateToken(ctx context.Context, p Principal, in TokenInput) (NewToken, error) {
	ts, err := s.tokens()
	if err != nil {
		return NewToken{}, err
	}
	if err := mayManageTokens(p); err != nil {
		return NewToken{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return NewToken{}, inField("name", Errorf(Invalid, "a token needs a name"))
	case len(in.Name) > MaxTokenNameLen || !utf8.ValidString(in.Name):
		return NewToken{}, inField("name", Errorf(Invalid, "a token name is at most %d bytes of UTF-8", MaxTokenNameLen))
	case len(in.Scopes) == 0:
		return NewToken{}, inField("scopes", Errorf(Invalid, "a token needs at least one scope: %s", scopeList()))
	}
	var scopes []Scope
	for _, sc := range in.Scopes {
		if !slices.Contains(Scopes, sc) {
			return NewToken{}, inField("scopes", Errorf(Invalid, "unknown scope %q; scopes are %s", sc, scopeList()))
		}
		if sc == ScopeAdmin && !p.IsAdmin() {
			return NewToken{}, inField("scopes", Errorf(Forbidden, "only admins may make tokens with the %s scope", ScopeAdmin))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	now := s.now()
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
		return NewToken{}, inField("expires", Errorf(Invalid, "expires_at %s is in the past", in.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	have, err := ts.Tokens(ctx, p.User)
	if err != nil {
		return NewToken{}, err
	}
	if len(have) >= MaxTokensPerUser {
		return NewToken{}, Errorf(Conflict, "you have %d tokens, the most one may keep; revoke some first", len(have))
	}
	var idb [8]byte
	var secret [32]byte
	rand.Read(idb[:])
	rand.Read(secret[:])
	t := NewToken{
		Token: Token{ID: hex.EncodeToString(idb[:]), Owner: p.User, Groups: p.Groups, Name: in.Name, Scopes: scopes,
			CreatedAt: now, ExpiresAt: in.ExpiresAt.UTC()},
	}
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	h := sha256.Sum256([]byte(sec))
	t.Hash = h[:]
	t.Secret = TokenPrefix + t.ID + "_" + sec
	if err := ts.CreateToken(ctx, t.Token); err != nil {
		return NewToken{}, err
	}
	return t, nil
}

func scopeList() string {
	s := make([]string, len(Scopes))
	for i, sc := range Scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

// ListTokens returns p's tokens, or everyone's when all is set (admins).
func (s *Service) ListTokens(ctx context.Context, p Principal, all bool) ([]Token, error) {
	ts, err := s.tokens()
	if err != nil {
		return nil, err
	}
	if err := mayManageTokens(p); err != nil {
		return nil, err
	}
	owner := p.User
	if all {
		if !p.IsAdmin() {
			return nil, Errorf(Forbidden, "only admins may list everyone's tokens")
		}
		owner = ""
	}
	return ts.Tokens(ctx, owner)
}

// RevokeToken deletes a token of p's, or anybody's when p is an admin.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id string) error {
	ts, err := s.tokens()
	if err != nil {
		return err
	}
	if err := mayManageTokens(p); err != nil {
		return err
	}
	t, err := ts.Token(ctx, id)
	if err != nil {
		return err
	}
	if t.Owner != p.User && !p.IsAdmin() {
		// Not "forbidden": whether someone else's token exists is not
		// anybody's business.
		return Errorf(NotFound, "you have no token %q", id)
	}
	return ts.DeleteToken(ctx, id)
}

// Authenticate returns the principal that a token's secret stands for: its
// owner, with its groups and scopes. A secret that is malformed, unknown
// (never issued, or revoked) or expired is Unauthorized. Admin is left for
// the caller to decide (ADMINS may have changed since the token was made).
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	bad := Errorf(Unauthorized, "the API token is not valid (revoked, or never issued)")
	rest, ok := strings.CutPrefix(secret, TokenPrefix)
	id, sec, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 || len(sec) != 43 {
		return Principal{}, bad
	}
	ts, err := s.tokens()
	if err != nil {
		return Principal{}, err
	}
	t, err := ts.Token(ctx, id)
	if ErrorCode(err) == NotFound {
		return Principal{}, bad
	}
	if err != nil {
		return Principal{}, err
	}
	h := sha256.Sum256([]byte(sec))
	if subtle.ConstantTimeCompare(h[:], t.Hash) != 1 {
		return Principal{}, bad
	}
	now := s.now()
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return Principal{}, Errorf(Unauthorized, "the API token %q expired at %s", t.Name, t.ExpiresAt.Format(time.RFC3339))
	}
	if now.Sub(t.LastUsedAt) >= touchEvery {
		// Best effort: a failed write must not refuse a valid token.
		ts.TouchToken(ctx, t.ID, now)
	}
	return Principal{User: t.Owner, Groups: t.Groups, TokenID: t.ID, Scopes: t.Scopes}, nil
}
