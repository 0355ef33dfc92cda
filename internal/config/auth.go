package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Identity is the settings of sign-in, tokens, admins and groups.
type Identity struct {
	AuthProxyGroupsHeader string
	RequireLogin          bool
	Admins                []string
	AdminGroups           []string

	OIDCIssuer           string
	OIDCClientID         string
	OIDCClientSecret     string // from OIDC_CLIENT_SECRET or the file
	OIDCClientSecretFile string
	OIDCRedirectURL      string
	OIDCScopes           []string
	OIDCGroupsClaim      string
	OIDCAllowedDomains   []string
	SessionKey           string // from SESSION_KEY or the file
	SessionKeyFile       string
}

// maxSecretFile bounds what a *_FILE setting reads.
const maxSecretFile = 64 << 10

func authSettings() []Setting {
	return []Setting{
		{Env: "AUTH_PROXY_GROUPS_HEADER", Default: "", Usage: "request header carrying the user's comma-separated groups, set by the proxy (e.g. X-Forwarded-Groups; empty: no groups), trusted like AUTH_PROXY_HEADER",
			set: func(c *Config, v string) error {
				if strings.ContainsAny(v, " :\t,") {
					return errors.New("must be a header name")
				}
				c.AuthProxyGroupsHeader = v
				return nil
			},
			get: func(c *Config) string { return c.AuthProxyGroupsHeader }},
		{Env: "REQUIRE_LOGIN", Default: "false", Usage: "true: every page, the API and redirects need a signed-in user or an API token (private deployments)",
			set: func(c *Config, v string) error {
				switch strings.ToLower(v) {
				case "true", "1", "yes":
					c.RequireLogin = true
				case "false", "0", "no":
					c.RequireLogin = false
				default:
					return errors.New("must be true or false")
				}
				return nil
			},
			get: func(c *Config) string { return fmt.Sprint(c.RequireLogin) }},
		list("ADMINS", "", "comma-separated e-mail addresses of admins: they may edit, delete and transfer any link and revoke any token", func(c *Config) *[]string { return &c.Admins }),
		list("ADMIN_GROUPS", "", "comma-separated groups whose members are admins", func(c *Config) *[]string { return &c.AdminGroups }),
		httpURL("OIDC_ISSUER", "AUTH_MODE=oidc: the OpenID provider's issuer URL (https://accounts.google.com, https://login.microsoftonline.com/TENANT/v2.0, ...)", func(c *Config) *string { return &c.OIDCIssuer }),
		str("OIDC_CLIENT_ID", "", "AUTH_MODE=oidc: the client ID Signpost is registered with at the provider", func(c *Config) *string { return &c.OIDCClientID }),
		{Env: "OIDC_CLIENT_SECRET", Default: "", Secret: SecretValue, Usage: "AUTH_MODE=oidc: the client secret (or OIDC_CLIENT_SECRET_FILE)",
			set: func(c *Config, v string) error { c.OIDCClientSecret = v; return nil },
			get: func(c *Config) string { return c.OIDCClientSecret }},
		secretFile("OIDC_CLIENT_SECRET_FILE", "file holding the client secret (a mounted Secret); wins over OIDC_CLIENT_SECRET",
			func(c *Config) *string { return &c.OIDCClientSecretFile }, func(c *Config) *string { return &c.OIDCClientSecret }),
		httpURL("OIDC_REDIRECT_URL", "AUTH_MODE=oidc: the callback URL registered at the provider, ending in /-/auth/callback (empty: derived from each request)", func(c *Config) *string { return &c.OIDCRedirectURL }),
		{Env: "OIDC_SCOPES", Default: "openid email profile", Usage: "AUTH_MODE=oidc: space-separated scopes to ask for (add groups for Okta or Dex)",
			set: func(c *Config, v string) error { c.OIDCScopes = strings.Fields(v); return nil },
			get: func(c *Config) string { return strings.Join(c.OIDCScopes, " ") }},
		str("OIDC_GROUPS_CLAIM", "groups", "AUTH_MODE=oidc: the ID token (or UserInfo) claim listing the user's groups", func(c *Config) *string { return &c.OIDCGroupsClaim }),
		list("OIDC_ALLOWED_DOMAINS", "", "AUTH_MODE=oidc: comma-separated e-mail domains that may sign in (empty: any the provider signs in)", func(c *Config) *[]string { return &c.OIDCAllowedDomains }),
		{Env: "SESSION_KEY", Default: "", Secret: SecretValue, Usage: "AUTH_MODE=oidc: comma-separated keys (each >= 32 bytes, e.g. openssl rand -base64 32) sealing session cookies; the first seals, all open, so put a new key first to rotate; every replica needs the same",
			set: func(c *Config, v string) error { c.SessionKey = v; return nil },
			get: func(c *Config) string { return c.SessionKey }},
		secretFile("SESSION_KEY_FILE", "file holding SESSION_KEY (a mounted Secret); wins over SESSION_KEY",
			func(c *Config) *string { return &c.SessionKeyFile }, func(c *Config) *string { return &c.SessionKey }),
	}
}

// httpURL is an optional absolute http(s) URL.
func httpURL(env, usage string, p func(*Config) *string) Setting {
	s := str(env, "", usage, p)
	s.set = func(c *Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errors.New("must be an absolute https:// URL")
			}
		}
		*p(c) = v
		return nil
	}
	return s
}

func list(env, def, usage string, p func(*Config) *[]string) Setting {
	return Setting{Env: env, Default: def, Usage: usage,
		set: func(c *Config, v string) error {
			*p(c) = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					*p(c) = append(*p(c), f)
				}
			}
			return nil
		},
		get: func(c *Config) string { return strings.Join(*p(c), ",") }}
}

// secretFile reads a secret from a file (trailing newlines trimmed) into
// the setting that dest points at.
func secretFile(env, usage string, path, dest func(*Config) *string) Setting {
	return Setting{Env: env, Default: "", Usage: usage,
		set: func(c *Config, v string) error {
			*path(c) = v
			if v == "" {
				return nil
			}
			f, err := os.Open(v)
			if err != nil {
				return fmt.Errorf("cannot read it: %v", err)
			}
			defer f.Close()
			b := make([]byte, maxSecretFile+1)
			n, _ := f.Read(b)
			if n > maxSecretFile {
				return fmt.Errorf("is larger than %d bytes", maxSecretFile)
			}
			s := strings.TrimRight(string(b[:n]), "\r\n")
			if s == "" {
				return errors.New("is empty")
			}
			*dest(c) = s
			return nil
		},
		get: func(c *Config) string { return *path(c) }}
}

// checkIdentity checks what one setting alone cannot.
func (c Config) checkIdentity() error {
	if c.RequireLogin && c.AuthMode == "none" {
		return errors.New("REQUIRE_LOGIN=true needs AUTH_MODE=proxy or oidc: with AUTH_MODE=none nobody can sign in")
	}
	if c.AuthMode != "oidc" {
		if c.OIDCIssuer != "" {
			return fmt.Errorf("OIDC_ISSUER is set but AUTH_MODE=%s; set AUTH_MODE=oidc to sign people in", c.AuthMode)
		}
		return nil
	}
	switch {
	case c.OIDCIssuer == "":
		return errors.New("AUTH_MODE=oidc needs OIDC_ISSUER")
	case c.OIDCClientID == "":
		return errors.New("AUTH_MODE=oidc needs OIDC_CLIENT_ID")
	case c.SessionKey == "":
		return errors.New("AUTH_MODE=oidc needs SESSION_KEY or SESSION_KEY_FILE: keys (each >= 32 bytes) that seal session cookies, the same on every replica")
	}
	for _, k := range strings.Split(c.SessionKey, ",") {
		if k = strings.TrimSpace(k); k != "" && len(k) < 32 {
			return fmt.Errorf("SESSION_KEY: each key must be at least 32 bytes (one is %d); make one with: openssl rand -base64 32", len(k))
		}
	}
	return nil
}
