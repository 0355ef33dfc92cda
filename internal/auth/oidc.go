package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signpost-go/signpost/internal/links"
)

// OIDCConfig is the OpenID Connect client's configuration (OIDC_*).
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is where the provider sends the browser back; "" derives
	// it from each request (scheme://host/-/auth/callback).
	RedirectURL string
	Scopes      []string
	GroupsClaim string
	// AllowedDomains, when set, are the only e-mail domains that may sign in.
	AllowedDomains []string
}

// CallbackPath is where the provider sends the browser back.
const CallbackPath = "/-/auth/callback"

// OIDC signs users in with the authorization-code flow, PKCE, state and
// nonce. Discovery happens in Run, retried with backoff, so that an issuer
// that is down at start delays sign-in only: the server serves links
// meanwhile, and sign-in answers 503 until discovery succeeds.
type OIDC struct {
	cfg    OIDCConfig
	log    *slog.Logger
	client *http.Client
	p      atomic.Pointer[provider]
	failed atomic.Bool // a discovery attempt failed (its cause is logged)
	// Backoff is the first wait between discovery attempts; it doubles up
	// to a minute.
	Backoff time.Duration
}

type provider struct {
	endpoint oauth2.Endpoint
	verifier *oidc.IDTokenVerifier
	oidc     *oidc.Provider
}

// NewOIDC returns a client that is not ready until Run's discovery succeeds.
func NewOIDC(cfg OIDCConfig, log *slog.Logger) *OIDC {
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	return &OIDC{cfg: cfg, log: log, client: &http.Client{Timeout: 10 * time.Second}, Backoff: time.Second}
}

// Issuer is the configured issuer URL.
func (o *OIDC) Issuer() string { return o.cfg.Issuer }

// Run discovers the provider, retrying with exponential backoff (Backoff,
// doubling, at most a minute apart) until it succeeds or ctx ends.
func (o *OIDC) Run(ctx context.Context) {
	backoff := o.Backoff
	for {
		err := o.discover(ctx)
		if err == nil {
			o.log.Info("OpenID provider discovered", "issuer", o.cfg.Issuer)
			return
		}
		o.failed.Store(true)
		o.log.Warn("OpenID provider discovery failed; sign-in answers 503 until it succeeds", "issuer", o.cfg.Issuer, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (o *OIDC) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.client), 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return err
	}
	o.p.Store(&provider{endpoint: p.Endpoint(), verifier: p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}), oidc: p})
	return nil
}

// Ready reports whether discovery has succeeded. When not, the error is
// a sentence for the person at the sign-in page; the cause (a dial error,
// a bad discovery document) is for the operator, in Run's warning, one a
// failed attempt.
func (o *OIDC) Ready() error {
	if o.p.Load() != nil {
		return nil
	}
	if !o.failed.Load() {
		return links.Errorf(links.Unavailable, "sign-in is unavailable: Signpost is still contacting the sign-in provider; try again in a few seconds")
	}
	return links.Errorf(links.Unavailable, "sign-in is unavailable: Signpost cannot reach the sign-in provider right now and keeps trying; try again in a minute, or tell whoever runs Signpost if it lasts")
}

func (o *OIDC) oauth(p *provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret,
		Endpoint: p.endpoint, RedirectURL: redirectURL, Scopes: o.cfg.Scopes}
}

// Login is a sign-in in progress, kept in a sealed cookie between the
// redirect to the provider and the callback.
type Login struct {
	State       string `json:"s"`
	Nonce       string `json:"n"`
	Verifier    string `json:"v"`
	RedirectURL string `json:"r"`
	// Return is where the browser goes after signing in: a local path.
	Return string `json:"t"`
}

// LoginLifetime bounds a sign-in in progress.
const LoginLifetime = 10 * time.Minute

// RedirectURL is the callback URL for a request that reached us at base
// (scheme://host), unless one is configured.
func (o *OIDC) RedirectURL(base string) string {
	if o.cfg.RedirectURL != "" {
		return o.cfg.RedirectURL
	}
	return base + CallbackPath
}

// Start begins a sign-in: the provider's authorization URL, and the Login
// to keep until the callback.
func (o *OIDC) Start(redirectURL, returnTo string) (string, Login, error) {
	p := o.p.Load()
	if p == nil {
		return "", Login{}, o.Ready()
	}
	l := Login{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), RedirectURL: redirectURL, Return: returnTo}
	u := o.oauth(p, redirectURL).AuthCodeURL(l.State, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier))
	return u, l, nil
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Finish completes a sign-in from the callback's query: the state must
// match, the code is exchanged with the PKCE verifier, the ID token is
// verified (signature, issuer, audience, expiry) and must carry the nonce.
func (o *OIDC) Finish(ctx context.Context, l Login, state, code string) (Session, error) {
	p := o.p.Load()
	if p == nil {
		return Session{}, o.Ready()
	}
	if state == "" || state != l.State {
		return Session{}, links.Errorf(links.Invalid, "this sign-in does not match the one this browser started (state differs); start again")
	}
	if code == "" {
		return Session{}, links.Errorf(links.Invalid, "the identity provider sent no authorization code")
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, o.client), 15*time.Second)
	defer cancel()
	conf := o.oauth(p, l.RedirectURL)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		return Session{}, links.Wrap(err, links.Unauthorized, "the identity provider refused the sign-in code")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Session{}, links.Errorf(links.Unauthorized, "the identity provider sent no ID token")
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return Session{}, links.Wrap(err, links.Unauthorized, "the ID token is not valid")
	}
	if idt.Nonce != l.Nonce {
		return Session{}, links.Errorf(links.Unauthorized, "the ID token was not issued for this sign-in (nonce differs)")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Session{}, links.Wrap(err, links.Unauthorized, "the ID token's claims are unreadable")
	}
	if _, ok := claims[o.cfg.GroupsClaim]; !ok {
		// Some providers (Okta, Dex with some connectors) put groups in
		// UserInfo only.
		if ui, err := p.oidc.UserInfo(ctx, conf.TokenSource(ctx, tok)); err == nil {
			var more map[string]any
			if ui.Claims(&more) == nil {
				if g, ok := more[o.cfg.GroupsClaim]; ok {
					claims[o.cfg.GroupsClaim] = g
				}
				if _, ok := claims["email"]; !ok {
					claims["email"], claims["email_verified"] = more["email"], more["email_verified"]
				}
			}
		}
	}
	return o.session(claims)
}

// session checks the claims and returns the session they make.
func (o *OIDC) session(claims map[string]any) (Session, error) {
	email, _ := claims["email"].(string)
	if email == "" {
		return Session{}, links.Errorf(links.Forbidden, "the identity provider sent no e-mail address; add the email scope (OIDC_SCOPES)")
	}
	if v, ok := claims["email_verified"].(bool); ok && !v {
		return Session{}, links.Errorf(links.Forbidden, "the e-mail address %s is not verified by the identity provider", email)
	}
	if len(o.cfg.AllowedDomains) > 0 {
		_, domain, _ := strings.Cut(email, "@")
		if !slices.ContainsFunc(o.cfg.AllowedDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
			return Session{}, links.Errorf(links.Forbidden, "%s may not sign in here: only addresses at %s may", email, strings.Join(o.cfg.AllowedDomains, ", "))
		}
	}
	groups, err := groupsOf(claims[o.cfg.GroupsClaim])
	if err != nil {
		return Session{}, links.Errorf(links.Forbidden, "the %q claim: %v", o.cfg.GroupsClaim, err)
	}
	return Session{User: email, Groups: groups}, nil
}

// groupsOf reads a groups claim: a list of strings, or one comma-separated
// string, within MaxGroups and MaxGroupLen.
func groupsOf(v any) ([]string, error) {
	var out []string
	var err error
	switch g := v.(type) {
	case nil:
		return nil, nil
	case string:
		out, err = addGroups(nil, g)
	case []any:
		for _, e := range g {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("is not a list of strings")
			}
			if out, err = addGroups(out, s); err != nil {
				break
			}
		}
	default:
		return nil, errors.New("is not a list of strings")
	}
	if err != nil {
		return nil, fmt.Errorf("lists %v; have the provider send only the groups assigned to this application", err)
	}
	return out, nil
}
