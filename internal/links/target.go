package links

import (
	"bytes"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// MaxURLLen is the longest target accepted, in bytes.
const MaxURLLen = 8 << 10

// Target is a validated, ready-to-expand link target. It is built once when
// a link is saved or loaded, never per request.
type Target struct {
	raw string
	// For a plain URL: the parts around which the request's path and query go.
	prefix, query, fragment string
	// For a template target.
	tmpl *template.Template
}

// TemplateData is what a template target sees: the fields golink's
// templates use (.Path, .User, .Now), and .Query.
type TemplateData struct {
	Path  string    // the rest of the request path after the name, without leading slash, unescaped
	Query string    // the raw query of the request
	User  string    // the requester's identity, "" when anonymous
	Now   time.Time // the time of the request, UTC
}

// templateFuncs are golink's template functions, so that its links import
// unchanged.
var templateFuncs = template.FuncMap{
	"PathEscape":  url.PathEscape,
	"QueryEscape": url.QueryEscape,
	"ToLower":     strings.ToLower,
	"ToUpper":     strings.ToUpper,
	"TrimPrefix":  strings.TrimPrefix,
	"TrimSuffix":  strings.TrimSuffix,
	// Match reports whether s contains a match of the regular expression
	// pattern; an invalid pattern matches nothing. (Go's regexp runs in
	// linear time, so no pattern can stall a redirect.)
	"Match": func(pattern, s string) bool {
		ok, _ := regexp.MatchString(pattern, s)
		return ok
	},
}

// ParseTarget validates raw as a link target: an absolute http or https URL
// of at most 8 KiB, or, when it contains "{{", a text/template that expands
// to one.
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
	t := &Target{raw: raw, query: u.RawQuery, fragment: u.EscapedFragment()}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	t.prefix = u.String()
	if strings.HasPrefix(raw, t.prefix) {
		// Share raw's bytes (the usual case): a million loaded links keep
		// one copy of each URL, not two.
		t.prefix = raw[:len(t.prefix)]
	}
	return t, nil
}

func parseTemplate(raw string) (*Target, error) {
	tmpl, err := template.New("url").Option("missingkey=error").Funcs(templateFuncs).Parse(raw)
	if err != nil {
		return nil, Wrap(err, Invalid, "url template does not parse: "+trimTemplateErr(err))
	}
	if err := checkNodes(tmpl.Tree.Root); err != nil {
		return nil, err
	}
	t := &Target{raw: raw, tmpl: tmpl}
	// Execute once with sample data: unknown fields and a result that is not
	// an http(s) URL are refused now rather than at redirect time.
	for _, d := range []TemplateData{{}, {Path: "a/b", Query: "x=1", User: "user@example.com", Now: time.Now().UTC()}} {
		out, err := t.execute(d)
		if err != nil {
			return nil, Wrap(err, Invalid, "url template does not run: "+trimTemplateErr(err))
		}
		if _, err := checkURL(out); err != nil {
			return nil, Errorf(Invalid, "url template expands to %q, which is not valid: %s", out, ErrorMessage(err))
		}
	}
	return t, nil
}

// checkNodes refuses loops and template calls: a target template is a
// short expression, and range over a large number would let anyone who may
// save a link burn CPU on every redirect.
func checkNodes(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNodes(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return errors.Join(checkNodes(n.List), checkNodes(n.ElseList))
	case *parse.WithNode:
		return errors.Join(checkNodes(n.List), checkNodes(n.ElseList))
	case *parse.RangeNode:
		return Errorf(Invalid, "url template may not use range")
	case *parse.TemplateNode:
		return Errorf(Invalid, "url template may not call other templates")
	}
	return nil
}

func trimTemplateErr(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "template: "), "url:")
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

// Expand returns the redirect location for a request whose path after the
// link name is rest ("" or "/a/b", already escaped) and whose raw query is
// query. A plain target gets rest appended to its path and query merged into
// its own; a template target decides for itself.
func (t *Target) Expand(rest, query, user string) (string, error) {
	if t.tmpl != nil {
		path := strings.TrimPrefix(rest, "/")
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
		out, err := t.execute(TemplateData{Path: path, Query: query, User: user, Now: time.Now().UTC()})
		if err != nil {
			return "", Wrap(err, Internal, "url template failed")
		}
		// A template may branch on its input; whatever it yields must still
		// be an http(s) URL, never javascript: or the like. Re-encoding it
		// escapes what an unescaped {{.Path}} put in (spaces, say).
		u, err := url.Parse(out)
		if err != nil {
			return "", Errorf(Invalid, "url template expanded to a malformed URL")
		}
		if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" {
			return "", Errorf(Invalid, "url template expanded to a URL that is not an absolute http or https URL")
		}
		return u.String(), nil
	}
	if rest == "" && query == "" {
		return t.raw, nil
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
	return b.String(), nil
}

func (t *Target) execute(d TemplateData) (string, error) {
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, d); err != nil {
		return "", err
	}
	return buf.String(), nil
}
