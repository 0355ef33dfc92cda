package web

import (
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// idnHost is a link target's host when it is an international domain name,
// spelt three ways, so that a look-alike (Cyrillic "раураl.com") cannot pass
// for the ASCII name it imitates: Shown as the URL has it, ASCII as DNS
// looks it up (punycode, xn--...), Unicode as browsers display it. Err says
// why the host is not a valid IDN (browsers refuse those).
type idnHost struct{ Shown, ASCII, Unicode, Err string }

// idnOf returns the IDN spellings of target's host, or nil when the host is
// plain ASCII with no punycode label (or target has no host to speak of).
func idnOf(target string) *idnHost {
	u, err := url.Parse(target)
	if err != nil {
		return nil
	}
	host := u.Hostname()
	if host == "" || strings.ContainsAny(host, "{}") || !isIDN(host) {
		return nil
	}
	h := &idnHost{Shown: host}
	if h.ASCII, err = idna.Lookup.ToASCII(host); err != nil {
		h.Err = err.Error()
		return h
	}
	if h.Unicode, err = idna.Display.ToUnicode(h.ASCII); err != nil {
		h.Err = err.Error()
	}
	return h
}

// isIDN reports whether host has a non-ASCII byte or a punycode label.
func isIDN(host string) bool {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return true
		}
	}
	for _, label := range strings.Split(host, ".") {
		if len(label) >= 4 && strings.EqualFold(label[:4], "xn--") {
			return true
		}
	}
	return false
}
