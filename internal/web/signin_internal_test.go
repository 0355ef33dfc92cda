package web

import (
	"net/http/httptest"
	"testing"
)

// The return URL after sign-in is a path on this server, or home: never
// another site (an open redirect).
func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/-/links/docs":             "/-/links/docs",
		"/docs/a/b?x=1":             "/docs/a/b?x=1",
		"/-/?q=owner%3Ame":          "/-/?q=owner%3Ame",
		"":                          "/-/",
		"https://evil.example/":     "/-/",
		"//evil.example/x":          "/-/",
		"/\\evil.example":           "/-/",
		"\\\\evil.example":          "/-/",
		"/a\\b":                     "/-/",
		"javascript:alert(1)":       "/-/",
		"evil.example":              "/-/",
		"/ok\r\nLocation: http://x": "/-/",
		"/%0d%0a":                   "/%0d%0a", // escaped: stays a path
		"https:/evil.example":       "/-/",
		"/\t/evil.example":          "/-/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSignInReturn(t *testing.T) {
	for _, tt := range []struct{ method, target, want string }{
		{"GET", "/-/links/docs?x=1", "/-/links/docs?x=1"},
		{"GET", "/-/login?return=/x", "/-/"},
		{"GET", "/-/auth/callback?code=c&state=s", "/-/"},
		{"POST", "/-/links", "/-/"},
	} {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if got := signInReturn(r); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.target, got, tt.want)
		}
	}
}
