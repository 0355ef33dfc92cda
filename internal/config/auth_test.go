package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIdentitySettings(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("from-the-file\n"), 0o600)
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(strings.Repeat("k", 32)+","+strings.Repeat("o", 40)+"\n"), 0o600)
	key := strings.Repeat("s", 32)
	oidc := map[string]string{"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "signpost", "SESSION_KEY": key}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range oidc {
			m[k] = v
		}
		for k, v := range extra {
			if v == "-" {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		err  string
		ok   func(c Config) bool
	}{
		{"defaults", nil, "", func(c Config) bool {
			return c.AuthMode == "none" && !c.RequireLogin && strings.Join(c.OIDCScopes, " ") == "openid email profile" && c.OIDCGroupsClaim == "groups"
		}},
		{"oidc", with(map[string]string{"OIDC_ALLOWED_DOMAINS": "example.com, corp.example", "ADMINS": "a@x,b@x", "ADMIN_GROUPS": "ops", "REQUIRE_LOGIN": "true"}), "",
			func(c Config) bool {
				return len(c.OIDCAllowedDomains) == 2 && c.OIDCAllowedDomains[1] == "corp.example" && len(c.Admins) == 2 && c.AdminGroups[0] == "ops" && c.RequireLogin
			}},
		{"secret from a file wins", with(map[string]string{"OIDC_CLIENT_SECRET": "inline", "OIDC_CLIENT_SECRET_FILE": secretFile}), "",
			func(c Config) bool { return c.OIDCClientSecret == "from-the-file" }},
		{"session keys from a file", with(map[string]string{"SESSION_KEY": "-", "SESSION_KEY_FILE": keyFile}), "",
			func(c Config) bool {
				return strings.HasPrefix(c.SessionKey, "kkkk") && strings.HasSuffix(c.SessionKey, "oooo")
			}},
		{"missing secret file", with(map[string]string{"OIDC_CLIENT_SECRET_FILE": filepath.Join(dir, "nope")}), "OIDC_CLIENT_SECRET_FILE", nil},
		{"oidc without issuer", with(map[string]string{"OIDC_ISSUER": "-"}), "needs OIDC_ISSUER", nil},
		{"oidc without client", with(map[string]string{"OIDC_CLIENT_ID": "-"}), "needs OIDC_CLIENT_ID", nil},
		{"oidc without session key", with(map[string]string{"SESSION_KEY": "-"}), "needs SESSION_KEY", nil},
		{"short session key", with(map[string]string{"SESSION_KEY": key + ",short"}), "at least 32 bytes", nil},
		{"issuer not a URL", with(map[string]string{"OIDC_ISSUER": "idp.example"}), "OIDC_ISSUER", nil},
		{"issuer without oidc", map[string]string{"OIDC_ISSUER": "https://idp.example"}, "set AUTH_MODE=oidc", nil},
		{"require login with nobody to sign in", map[string]string{"REQUIRE_LOGIN": "true"}, "REQUIRE_LOGIN=true needs", nil},
		{"require login not a boolean", map[string]string{"REQUIRE_LOGIN": "sure"}, "REQUIRE_LOGIN", nil},
		{"groups header not a header", map[string]string{"AUTH_PROXY_GROUPS_HEADER": "X Groups"}, "AUTH_PROXY_GROUPS_HEADER", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("serve", "serve", nil, env(tt.env), nil, nil, nil)
			if tt.err != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.ok(c) {
				t.Fatalf("config: %+v", c.Identity)
			}
		})
	}
}

// Secrets that are not URLs are printed as xxxxx, never in clear, even
// when they happen to parse as a URL (which a URL secret would print with
// only its password masked).
func TestIdentitySecretsMasked(t *testing.T) {
	key := "https://host.example/" + strings.Repeat("s", 32)
	c, _, err := Parse("serve", "serve", nil, env(map[string]string{"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://idp.example",
		"OIDC_CLIENT_ID": "signpost", "OIDC_CLIENT_SECRET": "hunter2-client-secret", "SESSION_KEY": key}), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, v := range c.Values() {
		b.WriteString(fmt.Sprint(v) + "\n")
	}
	out := b.String()
	if strings.Contains(out, "hunter2") || strings.Contains(out, "host.example") || strings.Contains(out, "sssss") {
		t.Fatalf("a secret is printed:\n%s", out)
	}
	if !strings.Contains(out, "OIDC_CLIENT_SECRET=xxxxx") || !strings.Contains(out, "SESSION_KEY=xxxxx") || !strings.Contains(out, "OIDC_CLIENT_ID=signpost") {
		t.Fatalf("settings printed as:\n%s", out)
	}
}
