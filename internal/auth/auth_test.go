package auth

import (
	"net/http/httptest"
	"net/netip"
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
