package auth

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestUser(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name   string
		res    Resolver
		remote string
		header string
		want   string
	}{
		{"none mode ignores header", Resolver{Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1234", "a@x", ""},
		{"trusted loopback", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1234", "a@x", "a@x"},
		{"trusted v6", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "[::1]:1234", "a@x", "a@x"},
		{"v4-mapped v6", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "[::ffff:10.1.2.3]:1", "a@x", "a@x"},
		{"trusted range", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "10.9.9.9:1", " a@x ", "a@x"},
		{"spoofed from elsewhere", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "192.0.2.7:1", "a@x", ""},
		{"no header", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", "", ""},
		{"garbage peer", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "nonsense", "a@x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.header != "" {
				r.Header.Set("X-Forwarded-Email", tt.header)
			}
			if got := tt.res.User(r); got != tt.want {
				t.Fatalf("User = %q, want %q", got, tt.want)
			}
		})
	}
}

// A trusted proxy that appends its header rather than replacing the one the
// client sent leaves two: neither is believed, and Check says why.
func TestDuplicateIdentityHeader(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name    string
		res     Resolver
		remote  string
		values  []string
		user    string
		refused bool
	}{
		{"once", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x"}, "a@x", false},
		{"twice", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"victim@x", "mallory@x"}, "", true},
		{"twice, same value", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x", "a@x"}, "", true},
		{"twice, one empty", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"", "a@x"}, "", true},
		{"header name in another case", Resolver{Proxy: true, Header: "x-forwarded-email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x", "b@x"}, "", true},
		{"twice from an untrusted peer: ignored as ever", Resolver{Proxy: true, Header: "X-Forwarded-Email", Trusted: trusted}, "192.0.2.7:1", []string{"a@x", "b@x"}, "", false},
		{"none mode", Resolver{Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x", "b@x"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.values {
				r.Header.Add("X-Forwarded-Email", v)
			}
			if got := tt.res.User(r); got != tt.user {
				t.Errorf("User = %q, want %q", got, tt.user)
			}
			err := tt.res.Check(r)
			if (err != nil) != tt.refused {
				t.Fatalf("Check = %v, want refused %v", err, tt.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "more than once") {
				t.Errorf("Check = %q, want it to say the header came more than once", err)
			}
		})
	}
}
