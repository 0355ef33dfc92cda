// Package auth tells who is making a request. In proxy mode the identity
// comes from a header that an authenticating proxy sets, and is believed
// only when the TCP peer is one of the trusted proxies: the same header from
// anyone else is ignored.
package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver extracts identities from requests.
type Resolver struct {
	// Proxy enables AUTH_MODE=proxy; off, everyone is anonymous.
	Proxy   bool
	Header  string
	Trusted []netip.Prefix
}

// User returns the identity of r's sender, or "" when anonymous (or when
// the header is ambiguous: see Check).
func (a *Resolver) User(r *http.Request) string {
	if !a.Proxy {
		return ""
	}
	vs := r.Header.Values(a.Header)
	if len(vs) != 1 {
		return ""
	}
	v := strings.TrimSpace(vs[0])
	if v == "" || !a.trusted(r.RemoteAddr) {
		return ""
	}
	return v
}

// Check refuses a request from a trusted proxy that carries the identity
// header more than once. A proxy that appends its header instead of
// replacing the client's would pass on the client's first; since which one
// is the proxy's cannot be told, neither is believed.
func (a *Resolver) Check(r *http.Request) error {
	if !a.Proxy {
		return nil
	}
	if n := len(r.Header.Values(a.Header)); n > 1 && a.trusted(r.RemoteAddr) {
		return fmt.Errorf("the %s header came more than once (%d times); the authenticating proxy must set it exactly once, replacing any the client sent", http.CanonicalHeaderKey(a.Header), n)
	}
	return nil
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
