package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// user is a static test user; the password is the part before "@".
type user struct {
	email    string
	verified bool
	groups   []string
}

// users are the test users. The browser and end-to-end tests name them.
var users = map[string]user{
	"ana@example.com":   {"ana@example.com", true, []string{"sre"}},
	"bo@example.com":    {"bo@example.com", true, []string{"sre", "web"}},
	"cy@example.com":    {"cy@example.com", true, []string{"web"}},
	"root@example.com":  {"root@example.com", true, []string{"platform"}},
	"eve@other.example": {"eve@other.example", true, nil},
	"ned@example.com":   {"ned@example.com", false, nil}, // e-mail not verified
}

const clientSecret = "signpost-secret"

// storage is op.Storage in memory. Auth requests, codes and access tokens
// expire with the process.
type storage struct {
	key *rsa.PrivateKey
	kid string

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code → request id
	tokens   map[string]token  // access token id → what it was issued for
}

type token struct {
	subject, clientID string
	scopes            []string
	expires           time.Time
}

func newStorage(key *rsa.PrivateKey) *storage {
	return &storage{key: key, kid: randomID(), requests: map[string]*authRequest{}, codes: map[string]string{}, tokens: map[string]token{}}
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var errNotFound = errors.New("not found")

// authRequest is one authorization request, done once a user signed in.
type authRequest struct {
	id       string
	req      oidc.AuthRequest
	subject  string
	authTime time.Time
	done     bool
}

func (a *authRequest) GetID() string          { return a.id }
func (a *authRequest) GetACR() string         { return "" }
func (a *authRequest) GetAMR() []string       { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string  { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.authTime }
func (a *authRequest) GetClientID() string    { return a.req.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) > 10000 {
		return nil, errors.New("too many sign-ins in progress")
	}
	a := &authRequest{id: randomID(), req: *req}
	s.requests[a.id] = a
	return a, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return nil, errNotFound
	}
	return a, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, rid := range s.codes {
		if rid == id {
			delete(s.codes, c)
		}
	}
	return nil
}

// signIn marks a request done for the user, if the password is right.
func (s *storage) signIn(id, email, password string) error {
	u, ok := users[email]
	name, _, _ := strings.Cut(email, "@")
	if !ok || password != name {
		return errors.New("unknown user or wrong password")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return errors.New("this sign-in has expired; start again")
	}
	a.subject, a.authTime, a.done = u.email, time.Now(), true
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, exp := randomID(), time.Now().Add(5*time.Minute)
	t := token{subject: req.GetSubject(), scopes: req.GetScopes(), expires: exp}
	if a, ok := req.(op.AuthRequest); ok {
		t.clientID = a.GetClientID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = t
	return id, exp, nil
}

var errNoRefresh = errors.New("refresh tokens are not supported")

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNoRefresh
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNoRefresh
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(_ context.Context, id, _, _ string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, id)
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// signingKey is the provider's RSA key, for signing and in the JWKS.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k signingKey) Use() string                                 { return "sig" }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Key() any { return &k.key.PublicKey }

func (k signingKey) Key() any { return k.key }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.kid, s.key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.kid, s.key}}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	switch id {
	case "signpost":
		return &client{id: id, claimsInIDToken: true}, nil
	case "signpost-userinfo":
		return &client{id: id}, nil
	}
	return nil, errNotFound
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if _, err := s.GetClientByClientID(ctx, id); err != nil {
		return err
	}
	if secret != clientSecret {
		return errors.New("wrong client secret")
	}
	return nil
}

// setClaims fills in the user's claims for the scopes asked for.
func setClaims(info *oidc.UserInfo, subject string, scopes []string) {
	u, ok := users[subject]
	if !ok {
		return
	}
	info.Subject = subject
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = u.email, oidc.Bool(u.verified)
		if !u.verified {
			// EmailVerified is omitempty: say false explicitly.
			info.AppendClaims("email_verified", false)
		}
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		name, _, _ := strings.Cut(u.email, "@")
		info.Name = name
	}
	// Groups come with the profile, as with Entra ID and Google Workspace
	// groups claims; Okta and Dex want a "groups" scope, also honoured.
	if slices.Contains(scopes, oidc.ScopeProfile) || slices.Contains(scopes, "groups") {
		if u.groups != nil {
			info.AppendClaims("groups", u.groups)
		}
	}
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the claims into the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	setClaims(info, req.GetSubject(), scopes)
	return nil
}

// SetUserinfoFromToken answers the UserInfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, id, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[id]
	s.mu.Unlock()
	if !ok || t.subject != subject || time.Now().After(t.expires) {
		return errors.New("access token is not valid")
	}
	setClaims(info, subject, t.scopes)
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not supported")
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// client is a confidential web client that may redirect to any loopback
// port's /-/auth/callback (the tests' servers listen on random ports).
type client struct {
	id              string
	claimsInIDToken bool
}

var loopbackCallbacks = []string{"http://127.0.0.1:*/-/auth/callback", "http://localhost:*/-/auth/callback"}

func (c *client) GetID() string                        { return c.id }
func (c *client) RedirectURIs() []string               { return nil }
func (c *client) RedirectURIGlobs() []string           { return loopbackCallbacks }
func (c *client) PostLogoutRedirectURIs() []string     { return nil }
func (c *client) PostLogoutRedirectURIGlobs() []string { return nil }
func (c *client) ApplicationType() op.ApplicationType  { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod          { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string           { return "/login?id=" + id }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return 5 * time.Minute }
func (c *client) DevMode() bool                       { return true } // http:// redirect URIs
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(scope string) bool     { return scope == "groups" }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return c.claimsInIDToken }
func (c *client) ClockSkew() time.Duration             { return 0 }
