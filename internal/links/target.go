package links

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"text/template/parse"
	"time"
)

// MaxURLLen is the longest target accepted, in bytes, and the longest
// redirect a template target may expand to.
const MaxURLLen = 8 << 10

// Target is a validated, ready-to-expand link target. It is built once when
// a link is saved or loaded, never per request.
//
// Expansion follows tailscale/golink's expandLink: a plain URL gets golink's
// implicit {{with .Path}}/{{.}}{{end}} (or {{.Path}} after a trailing
// slash) appended to its text, a template runs (within the bounds of
// parseTemplate), the result goes through url.Parse and String, and the
// request's query parameters are added to the result's and re-encoded,
// sorted by key (url.Values.Encode). Raw non-ASCII bytes, controls and
// spaces in the result are percent-encoded, as golink's http.Redirect
// does for non-ASCII. The one deliberate difference: what follows the name
// stays escaped as it was sent (golink unescapes it, so there go/docs/a%3Fb
// became a query).
//
// A Target is a plain value, 40 bytes, that the index keeps inside its
// entries (64 bytes each); what only some targets need is behind more.
type Target struct {
	raw string
	// For a plain URL: qpos and frag are the indexes of the '?' and '#' of
	// its canonical form (see canon), -1 when absent (int32: a canonical
	// form is < 32 KiB).
	qpos, frag int32
	slash      bool // raw ends with '/': the rest follows without another
	// slow: the canonical form cannot stand for raw with a rest appended
	// (raw ends with an empty fragment, which String drops), so Expand
	// parses each time.
	slow bool
	// more is nil for most plain URLs.
	more *more
}

// more is what only some targets have: a plain URL's canonical form when
// it is not raw itself, or a template.
type more struct {
	canon string
	urlTemplate
}

// canon is raw as url.Parse and String write it, as a Location header
// carries it (see escapeLocation): raw itself, usually.
func (t *Target) canon() string {
	if t.more != nil && t.more.canon != "" {
		return t.more.canon
	}
	return t.raw
}

// urlTemplate is what a template target needs to run: the parse tree
// (which the shared runners execute), its Match patterns compiled, and the
// latest failure. tree is nil for a plain URL.
type urlTemplate struct {
	tree     *parse.Tree
	patterns map[string]*pattern
	failure  atomic.Pointer[Failure]
	// usesQuery: the template places .Query itself, so the request's query
	// is not merged in as well.
	usesQuery bool
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
	Now   time.Time // the time of the request, UTC
	user  string
}

// errNoUser is what .User fails with for an anonymous request.
var errNoUser = errors.New("no user")

// User is the requester's identity. For an anonymous request it fails, and
// with it the redirect (401), as golink's does: a link built on who asks
// has no answer for nobody.
func (d TemplateData) User() (string, error) {
	if d.user == "" {
		return "", errNoUser
	}
	return d.user, nil
}

// ParseTarget parses raw as a link target: an absolute http or https URL
// of at most 8 KiB, or, when it contains "{{", a text/template within the
// bounds of parseTemplate. It never executes a template: the index calls it
// for every stored link at start-up. ValidateTarget, for what is being
// saved, also runs the template on sample requests.
func ParseTarget(raw string) (*Target, error) {
	// Small enough to inline: a caller that copies the Target into
	// something of its own (the index's entries) allocates none.
	t := new(Target)
	if err := t.parse(raw); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Target) parse(raw string) error {
	if raw == "" {
		return Errorf(Invalid, "url is required")
	}
	if len(raw) > MaxURLLen {
		return Errorf(Invalid, "url is %d bytes long; the limit is %d", len(raw), MaxURLLen)
	}
	if strings.Contains(raw, "{{") {
		return t.parseTemplate(raw)
	}
	u, err := checkURL(raw)
	if err != nil {
		return err
	}
	*t = Target{raw: raw, slash: strings.HasSuffix(raw, "/"), frag: -1, qpos: -1}
	if canon := escapeLocation(u.String()); canon != raw {
		t.more = &more{canon: canon}
	}
	t.slow = u.Fragment == "" && strings.Contains(raw, "#")
	canon := t.canon()
	if i := strings.IndexByte(canon, '#'); i >= 0 {
		t.frag = int32(i)
	}
	if i := strings.IndexByte(canon[:t.fragOrEnd()], '?'); i >= 0 {
		t.qpos = int32(i)
	}
	return nil
}

func (t *Target) fragOrEnd() int {
	if t.frag >= 0 {
		return int(t.frag)
	}
	return len(t.canon())
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
	if !t.IsTemplate() {
		return t, nil
	}
	for _, d := range []TemplateData{{user: "user@example.com"}, {Path: "a/b", Query: "x=1", user: "user@example.com", Now: time.Now().UTC()}} {
		if _, err := t.expandTemplate(context.Background(), d); err != nil {
			return nil, Errorf(Invalid, "url template does not run: %s", strings.TrimPrefix(ErrorMessage(err), "url template failed: "))
		}
	}
	return t, nil
}

// usesField reports whether the template reads .name (or $.name).
func usesField(n parse.Node, name string) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if usesField(c, name) {
				return true
			}
		}
	case *parse.ActionNode:
		return usesField(n.Pipe, name)
	case *parse.IfNode:
		return usesField(n.Pipe, name) || usesField(n.List, name) || usesField(n.ElseList, name)
	case *parse.WithNode:
		return usesField(n.Pipe, name) || usesField(n.List, name) || usesField(n.ElseList, name)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				if usesField(a, name) {
					return true
				}
			}
		}
	case *parse.FieldNode:
		return len(n.Ident) > 0 && n.Ident[0] == name
	case *parse.VariableNode:
		return len(n.Ident) > 1 && n.Ident[0] == "$" && n.Ident[1] == name
	case *parse.ChainNode:
		return usesField(n.Node, name)
	}
	return false
}

func checkURL(raw string) (*url.URL, error) {
	if strings.ContainsAny(raw, " \t\r\n") {
		return nil, Errorf(Invalid, "url must not contain spaces or line breaks")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's own error repeats the URL in Go's quoting: keep its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, Errorf(Invalid, "url %.200q is malformed: %s", raw, err)
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
func (t *Target) IsTemplate() bool { return t.more != nil && t.more.tree != nil }

// LastFailure returns the latest failed expansion of a template target.
func (t *Target) LastFailure() (Failure, bool) {
	if !t.IsTemplate() {
		return Failure{}, false
	}
	if f := t.more.failure.Load(); f != nil {
		return *f, true
	}
	return Failure{}, false
}

// Expand returns the redirect location for a request whose path after the
// link name is rest ("" or "/a/b", escaped as sent) and whose raw query is
// query, for user ("" when anonymous), as golink's expandLink does (see
// Target). A template target runs within the bounds of parseTemplate and
// stops when ctx is done. For a plain target and a query that is already in
// the form url.Values.Encode writes (sorted keys, escaped values: the usual
// case), it allocates only the result.
func (t *Target) Expand(ctx context.Context, rest, query, user string) (string, error) {
	remainder := rest
	if remainder != "" {
		remainder = remainder[1:] // golink's remainder: what follows "name/"
	}
	if t.IsTemplate() {
		path := remainder
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
		loc, err := t.expandTemplate(ctx, TemplateData{Path: path, Query: query, user: user, Now: time.Now().UTC()})
		// Neither a request that ended nor one without the identity the
		// link needs says anything about the link itself.
		if err != nil && ctx.Err() == nil && ErrorCode(err) != Unauthorized {
			t.more.failure.Store(&Failure{At: time.Now().UTC(), Message: ErrorMessage(err)})
		}
		return loc, err
	}
	if t.slow {
		return t.expandSlow(remainder, query)
	}
	sep := ""
	if remainder != "" && !t.slash {
		sep = "/"
	}
	canon := t.canon()
	if query == "" {
		if remainder == "" {
			return canon, nil
		}
		return escapeLocation(canon + sep + remainder), nil
	}
	// The rest lands in the fragment if there is one, else in the query if
	// there is one, else in the path. The query of the result is the
	// target's merged with the request's.
	base, tq, frag := canon, "", ""
	if t.frag >= 0 {
		base, frag = canon[:t.frag], canon[t.frag:]
	}
	if t.qpos >= 0 {
		base, tq = canon[:t.qpos], canon[t.qpos+1:t.fragOrEnd()]
	}
	restInQuery := t.qpos >= 0 && t.frag < 0 && remainder != ""
	if restInQuery || !canonicalQuery(query) || (tq != "" && !canonicalQuery(tq)) {
		return t.expandSlow(remainder, query)
	}
	var b strings.Builder
	b.Grow(len(canon) + len(sep) + len(remainder) + len(query) + 2)
	b.WriteString(base)
	if frag == "" {
		b.WriteString(sep)
		b.WriteString(remainder)
	}
	b.WriteByte('?')
	mergeQueries(&b, tq, query)
	if frag != "" {
		b.WriteString(frag)
		b.WriteString(sep)
		b.WriteString(remainder)
	}
	return escapeLocation(b.String()), nil
}

// expandSlow is golink's expandLink for a plain target, step by step.
func (t *Target) expandSlow(remainder, query string) (string, error) {
	long := t.raw
	if strings.HasSuffix(long, "/") {
		long += remainder
	} else if remainder != "" {
		long += "/" + remainder
	}
	u, err := url.Parse(long)
	if err != nil {
		return "", Errorf(Invalid, "target with the path appended is a malformed URL")
	}
	addQuery(u, query)
	return escapeLocation(u.String()), nil
}

// expandTemplate runs the template on d and checks what it yields.
func (t *Target) expandTemplate(ctx context.Context, d TemplateData) (string, error) {
	for _, f := range []struct{ name, v string }{{"path", d.Path}, {"query", d.Query}, {"user", d.user}} {
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
	if !t.more.usesQuery {
		addQuery(u, d.Query)
	}
	loc := escapeLocation(u.String())
	if len(loc) > MaxURLLen {
		return "", Errorf(TooLarge, "url template expanded to %d bytes once encoded; the limit is %d", len(loc), MaxURLLen)
	}
	return loc, nil
}

// addQuery adds the request's query parameters to u's, as golink does: when
// the request has any, u's query is re-encoded with them (keys sorted, the
// target's values before the request's).
func addQuery(u *url.URL, query string) {
	rv, _ := url.ParseQuery(query) // golink uses r.URL.Query(): bad pairs are dropped
	if len(rv) == 0 {
		return
	}
	q := u.Query()
	for k, vs := range rv {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
}

// canonicalQuery reports whether q is exactly what url.Values.Encode would
// write for the pairs url.ParseQuery reads from it: key=value pairs with
// keys in order, keys of unreserved characters, values escaped the way
// QueryEscape escapes them. Then merging needs no parsing.
func canonicalQuery(q string) bool {
	prev := ""
	first := true
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, ok := strings.Cut(pair, "=")
		if !ok || (!first && k < prev) {
			return false
		}
		for i := 0; i < len(k); i++ {
			if !unreserved(k[i]) {
				return false
			}
		}
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case unreserved(c), c == '+':
			case c == '%' && i+2 < len(v) && isUpperHex(v[i+1]) && isUpperHex(v[i+2]):
				if d := unhex(v[i+1])<<4 | unhex(v[i+2]); unreserved(d) || d == ' ' {
					return false // Encode would write it as itself, or '+'
				}
				i += 2
			default:
				return false
			}
		}
		prev, first = k, false
	}
	return !first
}

// mergeQueries writes the pairs of the canonical queries tq and rq merged
// by key, the target's first among equal keys: what Encode writes for the
// two sets of values put together.
func mergeQueries(b *strings.Builder, tq, rq string) {
	tp, tq, tok := nextPair(tq)
	rp, rq, rok := nextPair(rq)
	first := true
	for tok || rok {
		if !first {
			b.WriteByte('&')
		}
		first = false
		if tok && (!rok || pairKey(tp) <= pairKey(rp)) {
			b.WriteString(tp)
			tp, tq, tok = nextPair(tq)
		} else {
			b.WriteString(rp)
			rp, rq, rok = nextPair(rq)
		}
	}
}

func pairKey(p string) string {
	k, _, _ := strings.Cut(p, "=")
	return k
}

func nextPair(q string) (pair, rest string, ok bool) {
	if q == "" {
		return "", "", false
	}
	pair, rest, _ = strings.Cut(q, "&")
	return pair, rest, true
}

func unreserved(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
}

func isUpperHex(c byte) bool { return ('0' <= c && c <= '9') || ('A' <= c && c <= 'F') }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
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
