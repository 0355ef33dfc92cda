package links

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"
)

// MaxURLLen is the longest target accepted, in bytes, and the longest
// redirect a template target may expand to.
const MaxURLLen = 8 << 10

// Target is a validated, ready-to-expand link target. It is built once when
// a link is saved or loaded, never per request.
type Target struct {
	raw string
	// loc is raw as a Location header carries it (see escapeLocation).
	loc string
	// For a plain URL: the parts around which the request's path and query go.
	prefix, query, fragment string

	// For a template target: the parsed template (never executed itself:
	// runners execute clones of it), its Match patterns compiled, and a
	// pool of runners.
	tmpl     *template.Template
	patterns map[string]*pattern
	runners  sync.Pool
	failure  atomic.Pointer[Failure]
}

// Failure is the latest redirect through a template target that failed:
// what the link page shows, so that its owner learns why.
type Failure struct {
	At      time.Time
	Message string
}

// TemplateData is what a template target sees: the fields golink's
// templates use (.Path, .User, .Now), and .Query.
type TemplateData struct {
	Path  string    // the rest of the request path after the name, without leading slash, unescaped
	Query string    // the raw query of the request
	User  string    // the requester's identity, "" when anonymous
	Now   time.Time // the time of the request, UTC
}

// ParseTarget parses raw as a link target: an absolute http or https URL
// of at most 8 KiB, or, when it contains "{{", a text/template within the
// bounds of parseTemplate. It never executes a template: the index calls it
// for every stored link at start-up. ValidateTarget, for what is being
// saved, also runs the template on sample requests.
func ParseTarget(raw string) (*Target, error) {
	if raw == "" {
		return nil, Errorf(Invalid, "url is required")
	}
	if len(raw) > MaxURLLen {
		return nil, Errorf(Invalid, "url is %d bytes long; the limit is %d", len(raw), MaxURLLen)
	}
	if strings.Contains(raw, "{{") {
		return parseTemplate(raw)
	}
	u, err := checkURL(raw)
	if err != nil {
		return nil, err
	}
	t := &Target{raw: raw, loc: escapeLocation(raw), query: escapeLocation(u.RawQuery), fragment: u.EscapedFragment()}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	t.prefix = escapeLocation(u.String())
	return t, nil
}

// ValidateTarget is ParseTarget for a target being saved: it also refuses
// bidirectional controls (which make a URL read as another), and runs a
// template on sample requests, so that unknown fields and a result that is
// not an http(s) URL are refused now rather than at redirect time.
func ValidateTarget(raw string) (*Target, error) {
	t, err := ParseTarget(raw)
	if err != nil {
		return nil, err
	}
	if r, ok := spoofingRune(raw); ok {
		return nil, Errorf(Invalid, "url contains the invisible control character %U; remove it", r)
	}
	if t.tmpl == nil {
		return t, nil
	}
	for _, d := range []TemplateData{{}, {Path: "a/b", Query: "x=1", User: "user@example.com", Now: time.Now().UTC()}} {
		if _, err := t.expandTemplate(context.Background(), d); err != nil {
			return nil, Errorf(Invalid, "url template does not run: %s", ErrorMessage(err))
		}
	}
	return t, nil
}

func checkURL(raw string) (*url.URL, error) {
	if strings.ContainsAny(raw, " \t\r\n") {
		return nil, Errorf(Invalid, "url must not contain spaces or line breaks")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Errorf(Invalid, "url is malformed: %s", strings.TrimPrefix(err.Error(), "parse "))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return nil, Errorf(Invalid, "url %q is relative; give an absolute http:// or https:// URL", raw)
	default:
		return nil, Errorf(Invalid, "url scheme %q is not allowed; only http and https are", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, Errorf(Invalid, "url %q has no host", raw)
	}
	return u, nil
}

// String returns the target as it was saved.
func (t *Target) String() string { return t.raw }

// IsTemplate reports whether the target is a template.
func (t *Target) IsTemplate() bool { return t.tmpl != nil }

// LastFailure returns the latest failed expansion of a template target.
func (t *Target) LastFailure() (Failure, bool) {
	if f := t.failure.Load(); f != nil {
		return *f, true
	}
	return Failure{}, false
}

// Expand returns the redirect location for a request whose path after the
// link name is rest ("" or "/a/b", already escaped) and whose raw query is
// query. A plain target gets rest appended to its path and query merged into
// its own; a template target decides for itself, within the bounds of
// parseTemplate, and stops when ctx is done. Raw non-ASCII bytes, controls
// and spaces in the result are percent-encoded.
func (t *Target) Expand(ctx context.Context, rest, query, user string) (string, error) {
	if t.tmpl != nil {
		path := strings.TrimPrefix(rest, "/")
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
		loc, err := t.expandTemplate(ctx, TemplateData{Path: path, Query: query, User: user, Now: time.Now().UTC()})
		if err != nil && ctx.Err() == nil {
			t.failure.Store(&Failure{At: time.Now().UTC(), Message: ErrorMessage(err)})
		}
		return loc, err
	}
	if rest == "" && query == "" {
		return t.loc, nil
	}
	var b strings.Builder
	b.Grow(len(t.prefix) + len(rest) + len(t.query) + len(query) + len(t.fragment) + 3)
	b.WriteString(t.prefix)
	if len(rest) > 0 && rest[0] == '/' && len(t.prefix) > 0 && t.prefix[len(t.prefix)-1] == '/' {
		rest = rest[1:] // https://x/docs/ + /a → https://x/docs/a
	}
	b.WriteString(rest)
	if t.query != "" || query != "" {
		b.WriteByte('?')
		b.WriteString(t.query)
		if t.query != "" && query != "" {
			b.WriteByte('&')
		}
		b.WriteString(query)
	}
	if t.fragment != "" {
		b.WriteByte('#')
		b.WriteString(t.fragment)
	}
	return escapeLocation(b.String()), nil
}

// expandTemplate runs the template on d and checks what it yields.
func (t *Target) expandTemplate(ctx context.Context, d TemplateData) (string, error) {
	for _, f := range []struct{ name, v string }{{"path", d.Path}, {"query", d.Query}, {"user", d.User}} {
		if len(f.v) > MaxURLLen {
			return "", Errorf(TooLarge, "the request's %s is %d bytes long; a template link takes at most %d", f.name, len(f.v), MaxURLLen)
		}
	}
	out, err := t.execute(ctx, d)
	if err != nil {
		return "", err
	}
	// A template may branch on its input; whatever it yields must still
	// be an http(s) URL, never javascript: or the like. Re-encoding it
	// escapes what an unescaped {{.Path}} put in (spaces, say).
	u, err := url.Parse(out)
	if err != nil {
		return "", Errorf(Invalid, "url template expanded to %.80q, which is not a valid URL", out)
	}
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" {
		return "", Errorf(Invalid, "url template expanded to %.80q, which is not an absolute http or https URL", out)
	}
	loc := escapeLocation(u.String())
	if len(loc) > MaxURLLen {
		return "", Errorf(TooLarge, "url template expanded to %d bytes once encoded; the limit is %d", len(loc), MaxURLLen)
	}
	return loc, nil
}

// escapeLocation percent-encodes the bytes that must not reach a Location
// header raw: controls, space, DEL and every non-ASCII byte (browsers
// decode them back, a percent-encoded host included). It does not
// allocate when there is nothing to encode.
func escapeLocation(s string) string {
	i := 0
	for i < len(s) && !mustEncode(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; mustEncode(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func mustEncode(c byte) bool { return c <= ' ' || c >= 0x7f }
