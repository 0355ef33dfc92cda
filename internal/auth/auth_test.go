package auth

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
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
		{"trusted loopback", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1234", "a@x", "a@x"},
		{"trusted v6", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "[::1]:1234", "a@x", "a@x"},
		{"v4-mapped v6", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "[::ffff:10.1.2.3]:1", "a@x", "a@x"},
		{"trusted range", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "10.9.9.9:1", " a@x ", "a@x"},
		{"spoofed from elsewhere", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "192.0.2.7:1", "a@x", ""},
		{"no header", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", "", ""},
		{"garbage peer", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "nonsense", "a@x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.header != "" {
				r.Header.Set("X-Forwarded-Email", tt.header)
			}
			p, err := tt.res.Resolve(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.User; got != tt.want {
				t.Fatalf("User = %q, want %q", got, tt.want)
			}
		})
	}
}

// X-Forwarded-Proto is believed from TRUSTED_PROXIES peers only: from
// anyone else it would turn Secure cookies off or https URLs on at will.
func TestSecureBelievesOnlyTrustedProxies(t *testing.T) {
	res := Resolver{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tt := range []struct {
		name   string
		remote string
		proto  string
		tls    bool
		want   bool
	}{
		{"plain", "127.0.0.1:1", "", false, false},
		{"TLS itself", "192.0.2.7:1", "", true, true},
		{"trusted proxy says https", "10.1.2.3:1", "https", false, true},
		{"trusted proxy says http", "10.1.2.3:1", "http", false, false},
		{"trusted proxy, v4-mapped", "[::ffff:127.0.0.1]:1", "https", false, true},
		{"untrusted peer says https", "192.0.2.7:1", "https", false, false},
		{"garbage peer says https", "nonsense", "https", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := res.Secure(r); got != tt.want {
				t.Errorf("Secure = %v, want %v", got, tt.want)
			}
		})
	}
}

// A trusted proxy that appends its header rather than replacing the one the
// client sent leaves two: neither is believed, and Resolve refuses the request (401) saying why.
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
		{"once", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x"}, "a@x", false},
		{"twice", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"victim@x", "mallory@x"}, "", true},
		{"twice, same value", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x", "a@x"}, "", true},
		{"twice, one empty", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"", "a@x"}, "", true},
		{"header name in another case", Resolver{Mode: ModeProxy, Header: "x-forwarded-email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x", "b@x"}, "", true},
		{"twice from an untrusted peer: ignored as ever", Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", Trusted: trusted}, "192.0.2.7:1", []string{"a@x", "b@x"}, "", false},
		{"none mode", Resolver{Header: "X-Forwarded-Email", Trusted: trusted}, "127.0.0.1:1", []string{"a@x", "b@x"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.values {
				r.Header.Add("X-Forwarded-Email", v)
			}
			p, err := tt.res.Resolve(r)
			if (err != nil) != tt.refused {
				t.Fatalf("Resolve = %+v, %v; want refused %v", p, err, tt.refused)
			}
			if err != nil {
				if links.ErrorCode(err) != links.Unauthorized || !strings.Contains(err.Error(), "more than once") {
					t.Errorf("Resolve = %q (%s), want an Unauthorized error saying the header came more than once", err, links.ErrorCode(err))
				}
				return
			}
			if p.User != tt.user {
				t.Errorf("User = %q, want %q", p.User, tt.user)
			}
		})
	}
}

func TestProxyGroupsAndAdmins(t *testing.T) {
	res := Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Admins: []string{"Root@X"}, AdminGroups: []string{"platform"}}
	tests := []struct {
		name    string
		remote  string
		user    string
		groups  []string // header values
		want    string   // user, groups, admin
		wantErr bool
	}{
		{"groups from a trusted proxy", "127.0.0.1:1", "ana@x", []string{"sre, web ,,group:db, sre"}, "ana@x [sre web db] false", false},
		{"no groups header", "127.0.0.1:1", "ana@x", nil, "ana@x [] false", false},
		{"groups without a user mean nothing", "127.0.0.1:1", "", []string{"platform"}, " [] false", false},
		{"untrusted peer: headers ignored", "192.0.2.1:1", "ana@x", []string{"platform"}, " [] false", false},
		{"admin by address, any case", "127.0.0.1:1", "root@x", nil, "root@x [] true", false},
		{"admin by group", "127.0.0.1:1", "ana@x", []string{"platform"}, "ana@x [platform] true", false},
		{"two groups headers: refused", "127.0.0.1:1", "ana@x", []string{"sre", "platform"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.user != "" {
				r.Header.Set("X-Forwarded-Email", tt.user)
			}
			for _, g := range tt.groups {
				r.Header.Add("X-Forwarded-Groups", g)
			}
			p, err := res.Resolve(r)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Resolve error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if links.ErrorCode(err) != links.Unauthorized {
					t.Fatalf("error code %q", links.ErrorCode(err))
				}
				return
			}
			got := fmt.Sprintf("%s %v %v", p.User, p.Groups, p.Admin)
			if p.Groups == nil {
				got = fmt.Sprintf("%s [] %v", p.User, p.Admin)
			}
			if got != tt.want {
				t.Fatalf("principal = %q, want %q", got, tt.want)
			}
		})
	}
}

// The groups a proxy sends and those an OIDC provider claims have the same
// bounds: at most MaxGroups, each at most MaxGroupLen bytes (a longer one
// could never own a link); beyond them the request or the sign-in is
// refused, saying why, rather than cut short.
func TestGroupBounds(t *testing.T) {
	names := func(n int) []string {
		var gs []string
		for i := range n {
			gs = append(gs, fmt.Sprintf("team-%03d", i))
		}
		return gs
	}
	long := strings.Repeat("g", MaxGroupLen)
	for _, tt := range []struct {
		name   string
		header string
		want   int    // groups kept
		err    string // in the refusal
	}{
		{"the most groups", strings.Join(names(MaxGroups), ","), MaxGroups, ""},
		{"duplicates count once", strings.Join(append(names(MaxGroups), names(MaxGroups)...), ","), MaxGroups, ""},
		{"one group too many", strings.Join(names(MaxGroups+1), ","), 0, "more than the 100 groups"},
		{"the longest name", long + ", group:" + long, 1, ""},
		{"a name too long", "sre," + long + "x", 0, "a group name of 251 bytes"},
		{"64 KiB of commas", strings.Repeat(",", 64<<10), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := Resolver{Mode: ModeProxy, Header: "X-Forwarded-Email", GroupsHeader: "X-Forwarded-Groups",
				Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "127.0.0.1:1"
			r.Header.Set("X-Forwarded-Email", "ana@x")
			r.Header.Set("X-Forwarded-Groups", tt.header)
			p, err := res.Resolve(r)
			claim, cerr := groupsOf(tt.header)
			if tt.err == "" {
				if err != nil || cerr != nil || len(p.Groups) != tt.want || len(claim) != tt.want {
					t.Fatalf("proxy: %d groups, %v; OIDC claim: %d groups, %v; want %d", len(p.Groups), err, len(claim), cerr, tt.want)
				}
				return
			}
			if links.ErrorCode(err) != links.Forbidden || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "X-Forwarded-Groups") {
				t.Errorf("proxy: %v (%s), want 403 saying %q", err, links.ErrorCode(err), tt.err)
			}
			if cerr == nil || !strings.Contains(cerr.Error(), tt.err) {
				t.Errorf("OIDC claim: %v, want %q", cerr, tt.err)
			}
			var list []any
			for _, g := range strings.Split(tt.header, ",") {
				list = append(list, g)
			}
			if _, lerr := groupsOf(list); lerr == nil || !strings.Contains(lerr.Error(), tt.err) {
				t.Errorf("OIDC claim as a list: %v, want %q", lerr, tt.err)
			}
		})
	}
}

func TestBearerTokens(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := &links.Service{Store: st, Tokens: st, Enforce: true}
	tok, err := svc.CreateToken(ctx, links.Principal{User: "root@x", Groups: []string{"ops"}, Admin: true},
		links.TokenInput{Name: "bot", Scopes: []links.Scope{links.ScopeRead, links.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{ModeNone, ModeProxy, ModeOIDC} {
		res := Resolver{Mode: mode, Header: "X-Forwarded-Email", Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			Tokens: svc, Admins: []string{"root@x"}}
		for _, tt := range []struct {
			name string
			auth []string
			ok   bool
		}{
			{"valid", []string{"Bearer " + tok.Secret}, true},
			{"scheme in any case", []string{"bearer " + tok.Secret}, true},
			{"wrong secret", []string{"Bearer " + wrongLast(tok.Secret)}, false},
			{"not bearer", []string{"Basic dXNlcjpwYXNz"}, false},
			{"empty", []string{"Bearer "}, false},
			{"two headers", []string{"Bearer " + tok.Secret, "Bearer " + tok.Secret}, false},
		} {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				r := httptest.NewRequest("GET", "/", nil)
				r.RemoteAddr = "127.0.0.1:1"
				r.Header.Set("X-Forwarded-Email", "someone-else@x") // a token wins over the proxy header
				for _, a := range tt.auth {
					r.Header.Add("Authorization", a)
				}
				p, err := res.Resolve(r)
				if !tt.ok {
					if links.ErrorCode(err) != links.Unauthorized {
						t.Fatalf("Resolve = %+v, %v; want unauthorized, never anonymous", p, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.User != "root@x" || p.TokenID != tok.ID || !p.IsAdmin() || !p.InGroup("ops") {
					t.Fatalf("principal %+v", p)
				}
			})
		}
	}
}

// wrongLast is secret with its last character changed (to A, or to B when
// it already is an A).
func wrongLast(secret string) string {
	last := "A"
	if strings.HasSuffix(secret, "A") {
		last = "B"
	}
	return secret[:len(secret)-1] + last
}
