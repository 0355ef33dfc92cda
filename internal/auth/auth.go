// Package auth tells who is making a request: it resolves each request to
// one links.Principal, which links.Service then asks every permission of.
//
// Credentials, in order: an API token (Authorization: Bearer, any mode);
// in AUTH_MODE=proxy the identity (and groups) headers that an
// authenticating proxy sets, believed only when the TCP peer is one of the
// trusted proxies; in AUTH_MODE=oidc the session cookie that sign-in set.
package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/signpost-go/signpost/internal/links"
)

// Modes of AUTH_MODE.
const (
	ModeNone  = "none"
	ModeProxy = "proxy"
	ModeOIDC  = "oidc"
)

// TokenAuthenticator turns an API token's secret into its principal
// (links.Service does).
type TokenAuthenticator interface {
	Authenticate(ctx context.Context, secret string) (links.Principal, error)
}

// Resolver extracts principals from requests.
type Resolver struct {
	// Mode is AUTH_MODE: none (everyone anonymous), proxy or oidc.
	Mode string
	// Header and GroupsHeader carry the user and a comma-separated group
	// list in proxy mode (GroupsHeader "" means no groups).
	Header       string
	GroupsHeader string
	Trusted      []netip.Prefix
	// Admins (e-mail addresses) and AdminGroups make a principal an admin.
	Admins      []string
	AdminGroups []string
	// Tokens checks bearer tokens; nil refuses them all.
	Tokens TokenAuthenticator
	// Sessions opens the session cookie in oidc mode.
	Sessions *Sessions
}

// Resolve returns the principal of r's sender: anonymous when r carries no
// credentials. A bad, expired or revoked token is an Unauthorized error,
// never anonymous. A session cookie that cannot be opened (tampered with,
// expired, made with a retired key) is ignored: the browser is simply not
// signed in.
func (a *Resolver) Resolve(r *http.Request) (links.Principal, error) {
	p, err := a.resolve(r)
	if err != nil {
		return links.Principal{}, err
	}
	p.Admin = a.isAdmin(p)
	return p, nil
}

func (a *Resolver) resolve(r *http.Request) (links.Principal, error) {
	if h := r.Header.Values("Authorization"); len(h) > 0 {
		return a.bearer(r, h)
	}
	switch a.Mode {
	case ModeProxy:
		return a.proxy(r)
	case ModeOIDC:
		if a.Sessions == nil {
			return links.Principal{}, nil
		}
		s, ok := a.Sessions.Session(r)
		if !ok {
			return links.Principal{}, nil
		}
		return links.Principal{User: s.User, Groups: s.Groups}, nil
	}
	return links.Principal{}, nil
}

func (a *Resolver) bearer(r *http.Request, h []string) (links.Principal, error) {
	if len(h) > 1 {
		return links.Principal{}, links.Errorf(links.Unauthorized, "the request has %d Authorization headers; send one", len(h))
	}
	scheme, secret, _ := strings.Cut(strings.TrimSpace(h[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return links.Principal{}, links.Errorf(links.Unauthorized, "Authorization must be \"Bearer <API token>\"")
	}
	if a.Tokens == nil {
		return links.Principal{}, links.Errorf(links.Unauthorized, "this server accepts no API tokens")
	}
	return a.Tokens.Authenticate(r.Context(), strings.TrimSpace(secret))
}

// proxy reads the identity headers, from trusted peers only: the same
// headers from anyone else are ignored.
//
// A trusted proxy that appends its header rather than replacing the one
// the client sent leaves two: which one is the proxy's cannot be told, so
// neither is believed and the request is refused (401), for the identity
// header and the groups header alike.
func (a *Resolver) proxy(r *http.Request) (links.Principal, error) {
	if !a.trusted(r.RemoteAddr) {
		return links.Principal{}, nil
	}
	vs := r.Header.Values(a.Header)
	if len(vs) > 1 {
		return links.Principal{}, links.Errorf(links.Unauthorized, "the %s header came more than once (%d times); the authenticating proxy must set it exactly once, replacing any the client sent", http.CanonicalHeaderKey(a.Header), len(vs))
	}
	var v string
	if len(vs) == 1 {
		v = strings.TrimSpace(vs[0])
	}
	if v == "" {
		return links.Principal{}, nil
	}
	p := links.Principal{User: v}
	if a.GroupsHeader == "" {
		return p, nil
	}
	gs := r.Header.Values(a.GroupsHeader)
	if len(gs) > 1 {
		// Two values may be the client's and the proxy's: trust neither.
		return links.Principal{}, links.Errorf(links.Unauthorized, "the request has %d %s headers; a trusted proxy sends one", len(gs), a.GroupsHeader)
	}
	if len(gs) == 1 {
		groups, err := addGroups(nil, gs[0])
		if err != nil {
			return links.Principal{}, links.Errorf(links.Forbidden, "the %s header: %v; have the proxy send only the groups this service needs", http.CanonicalHeaderKey(a.GroupsHeader), err)
		}
		p.Groups = groups
	}
	return p, nil
}

// MaxGroups bounds the groups one principal carries (a session cookie
// must stay under browsers' 4 KB); MaxGroupLen bounds each name: a longer
// one could never own a link ("group:NAME" within links.MaxOwnerLen). The
// same for the proxy's groups header and the OIDC groups claim.
const (
	MaxGroups   = 100
	MaxGroupLen = links.MaxOwnerLen - len(links.GroupPrefix)
)

// addGroups appends the groups of a comma-separated list to gs: trimmed,
// a "group:" prefix dropped, empty entries and duplicates skipped. It
// refuses a name over MaxGroupLen or a list over MaxGroups as soon as it
// meets one, so a 64 KiB header of commas costs no more than that.
func addGroups(gs []string, v string) ([]string, error) {
	for v != "" {
		var g string
		g, v, _ = strings.Cut(v, ",")
		g = strings.TrimPrefix(strings.TrimSpace(g), links.GroupPrefix)
		if g == "" || slices.Contains(gs, g) {
			continue
		}
		if len(g) > MaxGroupLen {
			return nil, fmt.Errorf("a group name of %d bytes, more than the %d a group may have", len(g), MaxGroupLen)
		}
		if len(gs) == MaxGroups {
			return nil, fmt.Errorf("more than the %d groups Signpost keeps for one person", MaxGroups)
		}
		gs = append(gs, g)
	}
	return gs, nil
}

func (a *Resolver) isAdmin(p links.Principal) bool {
	if p.User == "" {
		return false
	}
	if slices.ContainsFunc(a.Admins, func(s string) bool { return strings.EqualFold(s, p.User) }) {
		return true
	}
	for _, g := range a.AdminGroups {
		if p.InGroup(g) {
			return true
		}
	}
	return false
}

// Secure reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says X-Forwarded-Proto: https. It is the
// one place a forwarded header decides anything but identity: anyone else
// could send the header to get Secure cookies dropped or https URLs built
// for a plain-http service.
func (a *Resolver) Secure(r *http.Request) bool {
	return r.TLS != nil || (r.Header.Get("X-Forwarded-Proto") == "https" && a.trusted(r.RemoteAddr))
}

func (a *Resolver) trusted(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range a.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p links.Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// PrincipalFrom returns the principal ctx carries (anonymous if none).
func PrincipalFrom(ctx context.Context) links.Principal {
	p, _ := FromContext(ctx)
	return p
}

// FromContext returns the principal ctx carries, and whether it carries one.
func FromContext(ctx context.Context) (links.Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(links.Principal)
	return p, ok
}
