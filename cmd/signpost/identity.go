package main

import (
	"fmt"
	"log/slog"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/links"
)

// newIdentity builds who-is-this for serve: the resolver, and in
// AUTH_MODE=oidc the OpenID client, whose discovery the caller runs in the
// background (an issuer that is down delays sign-in, never start-up).
func newIdentity(c config.Config, svc *links.Service, log *slog.Logger) (*auth.Resolver, *auth.OIDC, error) {
	res := &auth.Resolver{
		Mode: c.AuthMode, Header: c.AuthProxyHeader, GroupsHeader: c.AuthProxyGroupsHeader, Trusted: c.TrustedProxies,
		Admins: c.Admins, AdminGroups: c.AdminGroups, Tokens: svc,
	}
	svc.Enforce = c.AuthMode != auth.ModeNone
	svc.RequireLogin = c.RequireLogin
	switch c.AuthMode {
	case auth.ModeNone:
		log.Warn("AUTH_MODE=none: everyone is anonymous and may edit or delete any link; set AUTH_MODE=oidc (built-in sign-in) or AUTH_MODE=proxy (behind an authenticating proxy)")
		return res, nil, nil
	case auth.ModeOIDC:
		sess, err := auth.NewSessions(c.SessionKey)
		if err != nil {
			return nil, nil, fmt.Errorf("SESSION_KEY: %w", err)
		}
		res.Sessions = sess
		o := auth.NewOIDC(auth.OIDCConfig{
			Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, RedirectURL: c.OIDCRedirectURL,
			Scopes: c.OIDCScopes, GroupsClaim: c.OIDCGroupsClaim, AllowedDomains: c.OIDCAllowedDomains,
		}, log)
		return res, o, nil
	}
	return res, nil, nil
}
