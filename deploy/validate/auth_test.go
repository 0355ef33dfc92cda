package validate

import (
	"strings"
	"testing"
)

// The auth block renders the identity settings: nothing for none (the
// binary's default; the notes warn), the proxy's headers, or OIDC with its
// two secrets read from a Secret.
func TestAuthModes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    renderOpts
		want    map[string]string // plain values
		secrets map[string]string // name → secret/key
		absent  []string
		notes   []string
	}{
		{"none", renderOpts{}, nil, nil,
			[]string{"AUTH_MODE", "OIDC_ISSUER", "SESSION_KEY", "ADMINS", "REQUIRE_LOGIN"},
			[]string{"WARNING: AUTH_MODE=none", "may edit or delete EVERY link"}},
		{"proxy", renderOpts{ValueFiles: []string{"ci/postgres-ha-values.yaml"}},
			map[string]string{"AUTH_MODE": "proxy", "AUTH_PROXY_HEADER": "X-Forwarded-Email", "AUTH_PROXY_GROUPS_HEADER": "X-Forwarded-Groups",
				"TRUSTED_PROXIES": "10.0.0.0/8", "ADMIN_GROUPS": "platform"}, nil,
			[]string{"OIDC_ISSUER", "SESSION_KEY", "REQUIRE_LOGIN", "ADMINS"},
			[]string{"Sign-in: AUTH_MODE=proxy behind a proxy setting X-Forwarded-Email and X-Forwarded-Groups, trusted from 10.0.0.0/8"}},
		{"oidc", renderOpts{ValueFiles: []string{"ci/oidc-values.yaml"}},
			map[string]string{"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
				"OIDC_CLIENT_ID": "11111111-2222-3333-4444-555555555555", "OIDC_REDIRECT_URL": "https://go.example.com/-/auth/callback",
				"OIDC_SCOPES": "openid email profile", "OIDC_GROUPS_CLAIM": "groups", "OIDC_ALLOWED_DOMAINS": "example.com",
				"ADMINS": "ana@example.com", "ADMIN_GROUPS": "platform", "REQUIRE_LOGIN": "true", "TRUSTED_PROXIES": "10.0.0.0/8"},
			map[string]string{"OIDC_CLIENT_SECRET": "signpost-oidc/client-secret", "SESSION_KEY": "signpost-oidc/session-key"},
			[]string{"AUTH_PROXY_HEADER"},
			[]string{"create secret generic signpost-oidc", "--from-literal=client-secret=", "--from-literal=session-key=", "Register https://go.example.com/-/auth/callback", "REQUIRE_LOGIN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, notes, err := renderChart(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := container(t, deployment(t, objs))
			plain, names := envMap(c)
			for k, v := range tc.want {
				if plain[k] != v {
					t.Errorf("%s = %q, want %q", k, plain[k], v)
				}
			}
			for _, e := range c.Env {
				if want, ok := tc.secrets[e.Name]; ok {
					if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key != want {
						t.Errorf("%s must come from the Secret %s: %+v", e.Name, want, e.ValueFrom)
					}
					delete(tc.secrets, e.Name)
				}
			}
			for name := range tc.secrets {
				t.Errorf("%s is not set", name)
			}
			for _, n := range tc.absent {
				for _, have := range names {
					if have == n {
						t.Errorf("%s is set in mode %s", n, tc.name)
					}
				}
			}
			for _, w := range tc.notes {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			if tc.name != "none" && strings.Contains(notes, "WARNING: AUTH_MODE=none") {
				t.Errorf("NOTES warn of AUTH_MODE=none in mode %s", tc.name)
			}
		})
	}
}

func TestAuthValuesRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"unknown mode", []string{"auth.mode=ldap"}, "mode"},
		{"misspelt key", []string{"auth.oidc.issuerURL=https://x.example"}, "issuerURL"},
		{"oidc without issuer", []string{"auth.mode=oidc", "auth.oidc.clientID=x"}, "needs auth.oidc.issuer and auth.oidc.clientID"},
		{"oidc without client", []string{"auth.mode=oidc", "auth.oidc.issuer=https://idp.example"}, "needs auth.oidc.issuer and auth.oidc.clientID"},
		{"issuer not a URL", []string{"auth.oidc.issuer=idp.example"}, "issuer"},
		{"redirect not the callback", []string{"auth.oidc.redirectURL=https://go.example.com/"}, "redirectURL"},
		{"require login with none", []string{"auth.requireLogin=true"}, "auth.requireLogin needs auth.mode proxy or oidc"},
		{"AUTH_MODE in env", []string{"env.AUTH_MODE=proxy"}, "env.AUTH_MODE is set by the chart; use auth.*"},
		{"SESSION_KEY in env", []string{"env.SESSION_KEY=x"}, "env.SESSION_KEY is set by the chart"},
		{"SESSION_KEY in secrets", []string{"database.mode=sqlite", "replicaCount=1", "autoscaling.enabled=false", "secrets[0].name=SESSION_KEY", "secrets[0].secretName=s", "secrets[0].secretKey=k"}, "secrets entry SESSION_KEY is set by the chart"},
		{"AUTH_MODE in extraEnv", []string{"extraEnv[0].name=AUTH_MODE", "extraEnv[0].value=none"}, "extraEnv AUTH_MODE is set by the chart; use auth.*"},
		{"bad trusted proxies", []string{"auth.trustedProxies=everyone"}, "trustedProxies"},
		{"admins not a list", []string{"auth.admins=a@x"}, "admins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := renderChart(renderOpts{Set: tc.set})
			if err == nil {
				t.Fatalf("values %v were accepted", tc.set)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}
