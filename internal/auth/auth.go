// Package auth tells who is making a request. In proxy mode the identity
// comes from a header that an authenticating proxy sets, and is believed
// only when the TCP peer is one of the trusted proxies: the same header from
// anyone else is ignored.
package auth

import (
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

// User returns the identity of r's sender, or "" when anonymous.
func (a *Resolver) User(r *http.Request) string {
	if !a.Proxy {
		return ""
	}
	v := strings.TrimSpace(r.Header.Get(a.Header))
	if v == "" || !a.trusted(r.RemoteAddr) {
		return ""
	}
	return v
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
