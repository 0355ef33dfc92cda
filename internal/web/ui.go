package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/signpost-go/signpost/internal/links"
)

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	p := principal(r)
	data["User"] = p.User
	data["Admin"] = p.IsAdmin()
	data["AuditOK"] = s.opt.Links.MayReadAudit(p) == nil
	data["SignIn"] = s.opt.OIDC != nil
	data["LoginURL"] = loginURL(signInReturn(r))
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.opt.Log.Error("template failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h["Referrer-Policy"] = s.hdr.referrer // also for the pages the redirect route renders
	s.writePage(w, r, status, buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": sentence(msg)})
}

func (s *Server) errPage(w http.ResponseWriter, r *http.Request, err error) {
	s.logErr(r, err)
	errorHeaders(w, err)
	s.errorPage(w, r, statusOf(err), links.ErrorMessage(err))
}

// searchLimit is how many results the home page's search shows; the
// directory pages through the rest.
const searchLimit = 50

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ctx, p := r.Context(), principal(r)
	q, err := searchQuery(r.URL.Query().Get("q"))
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	if r.URL.Query().Has("mine") {
		q = strings.TrimSpace("owner:me " + q)
	}
	data := map[string]any{"Query": q, "Deleted": r.URL.Query().Get("deleted"), "SignedOut": r.URL.Query().Has("signedout")}
	if q != "" {
		opt := links.ParseSearch(q)
		opt.Sort, opt.Limit = links.SortClicks, searchLimit
		res, err := s.opt.Links.List(ctx, p, opt)
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		total, err := s.opt.Links.Count(ctx, p, opt)
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Results"], data["Total"] = res, total
		data["More"] = "/-/links?" + url.Values{"q": {q}, "sort": {string(links.SortClicks)}}.Encode()
	} else {
		popular, err := s.opt.Links.List(ctx, p, links.ListOptions{Sort: links.SortPopular, Limit: 10})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		recent, err := s.opt.Links.List(ctx, p, links.ListOptions{Sort: links.SortRecent, Limit: 10})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Popular"], data["Recent"] = popular, recent
		if !p.Anonymous() {
			mine, err := s.opt.Links.List(ctx, p, links.ListOptions{Query: "owner:me", Sort: links.SortRecent, Limit: 10})
			if err != nil {
				s.errPage(w, r, err)
				return
			}
			data["Mine"] = mine
		}
	}
	data["Count"] = s.opt.Index.Len()
	s.render(w, r, http.StatusOK, "home", data)
}

// goSearch serves the browser search shortcut: "docs/a/b" goes to go/docs/a/b
// when docs exists, and anything else becomes a search.
func (s *Server) goSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	typed, query, _ := strings.Cut(strings.TrimPrefix(q, "go/"), "?")
	name, rest, _ := strings.Cut(typed, "/")
	if name, _, _ = strings.Cut(name, " "); name != "" {
		if e, ok := s.opt.Index.LookupName(name); ok {
			// The link's own spelling of its name, from the store (the
			// index keeps only keys); its key if the store cannot say.
			display := e.Key()
			if l, err := s.opt.Links.Get(r.Context(), principal(r), e.Key()); err == nil {
				display = l.Name
			}
			loc, err := shortcutLocation(display, rest, query)
			if err != nil {
				s.errorPage(w, r, http.StatusBadRequest, "go/"+display+": "+err.Error())
				return
			}
			http.Redirect(w, r, loc, http.StatusFound)
			return
		}
	}
	if _, err := searchQuery(q); err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/?q="+url.QueryEscape(q), http.StatusFound)
}

// shortcutLocation builds the shortcut's Location from the link's own
// (validated) name and the typed path and query, segment by segment: each
// path segment is unescaped once, refused if it could steer the browser
// (a dot segment, which a redirect would resolve away; a backslash, which
// browsers read as a slash, so that "/\host" is "//host"; a control
// character, which browsers drop; an escape left after unescaping, which
// a second decoder would turn into one of those), and escaped again. The
// result is always "/name" plus escaped segments: a path on this host.
func shortcutLocation(name, rest, query string) (string, error) {
	var b strings.Builder
	b.WriteString("/")
	b.WriteString(url.PathEscape(name))
	if rest != "" {
		for _, seg := range strings.Split(rest, "/") {
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg // a stray "%" is a literal percent sign
			}
			if err := checkSegment(dec); err != nil {
				return "", err
			}
			b.WriteString("/")
			b.WriteString(url.PathEscape(dec))
		}
	}
	if query != "" {
		b.WriteString("?")
		b.WriteString(escapeQuery(query))
	}
	return b.String(), nil
}

func checkSegment(seg string) error {
	for _, part := range strings.Split(seg, "/") { // an escaped slash is still a slash to some servers
		if part == "." || part == ".." {
			return errors.New(`a path may not contain "." or ".." segments`)
		}
	}
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '\\':
			return errors.New("a path may not contain a backslash")
		case c < 0x20 || c == 0x7f:
			return errors.New("a path may not contain control characters (tabs, line breaks, NUL)")
		case c == '%' && i+2 < len(seg) && ishex(seg[i+1]) && ishex(seg[i+2]):
			return errors.New("a path may not be escaped twice (%25xx)")
		}
	}
	return nil
}

// escapeQuery keeps a typed query's separators and valid escapes and
// escapes every other byte a URL may not hold as is (spaces, control
// characters, non-ASCII, #, \).
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0:
			b.WriteByte(c)
		case c == '%' && i+2 < len(q) && ishex(q[i+1]) && ishex(q[i+2]):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *Server) newLink(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, r.URL.RequestURI()) {
		return
	}
	q := r.URL.Query()
	f := formValues{Name: q.Get("name"), URL: q.Get("url"), AliasOf: q.Get("alias_of"), Tags: q.Get("tags")}
	s.render(w, r, http.StatusOK, "new", map[string]any{"F": newLinkForm(f, formError{}, principal(r).Owners(), false)})
}

// needSignIn sends a browser that is not signed in through sign-in and
// back to ret, when writes need a user and this server signs people in.
func (s *Server) needSignIn(w http.ResponseWriter, r *http.Request, ret string) bool {
	if s.opt.OIDC == nil || !s.opt.Links.Enforce || !principal(r).Anonymous() {
		return false
	}
	http.Redirect(w, r, loginURL(ret), http.StatusSeeOther)
	return true
}

// formValues is what a link form shows. Version is the ETag value of the
// link the edit form was loaded with: the save is conditional on it.
// OldName is the name of the link the edit form was loaded with, and
// LeaveAlias its leave-an-alias box (ticked when loaded; as sent when the
// form comes back refused).
type formValues struct {
	Name, URL, AliasOf, Description, Owner, Tags, Version, OldName string
	LeaveAlias                                                     bool
}

func formOf(l links.Link) formValues {
	return formValues{Name: l.Name, URL: l.URL, AliasOf: l.AliasOf, Description: l.Description, Owner: l.Owner,
		Tags: l.Tags, Version: l.Rev().String(), OldName: l.Name, LeaveAlias: true}
}

// readForm reads a link form of at most maxJSONBody bytes.
func readForm(w http.ResponseWriter, r *http.Request) (formValues, links.Input, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return formValues{}, links.Input{}, links.Errorf(links.TooLarge, "the form is larger than %d KiB", maxJSONBody>>10)
		}
		return formValues{}, links.Input{}, links.Wrap(err, links.Invalid, "the form could not be read; send it from this site's pages")
	}
	f := formValues{
		Name:        r.PostFormValue("name"),
		URL:         r.PostFormValue("url"),
		AliasOf:     r.PostFormValue("alias_of"),
		Description: r.PostFormValue("description"),
		Owner:       r.PostFormValue("owner"),
		Tags:        r.PostFormValue("tags"),
		Version:     r.PostFormValue("version"),
	}
	in := links.Input{Name: &f.Name, URL: &f.URL, Description: &f.Description}
	if _, ok := r.PostForm["owner"]; ok {
		in.Owner = &f.Owner
	}
	if _, ok := r.PostForm["alias_of"]; ok {
		in.AliasOf = &f.AliasOf
	}
	// A checkbox is sent only when ticked; the edit form's is ticked
	// unless its user unticked it.
	in.LeaveAlias = r.PostFormValue("leave_alias") != ""
	f.LeaveAlias = in.LeaveAlias
	if _, ok := r.PostForm["tags"]; ok {
		tags := []string{f.Tags}
		in.Tags = &tags
	}
	if _, ok := r.PostForm["version"]; ok {
		in.IfMatch = []links.Rev{formRev(f.Version)}
	}
	return f, in, nil
}

// formRev reads a form's version; one that does not parse matches nothing.
func formRev(v string) links.Rev {
	if rev, ok := links.ParseRev(v); ok {
		return rev
	}
	return links.Rev{ID: -1, Version: -1}
}

func (s *Server) createForm(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, "/-/new") {
		return
	}
	f, in, err := readForm(w, r)
	var l links.Link
	if err == nil {
		l, err = s.opt.Links.Create(r.Context(), principal(r), in)
	}
	if err != nil {
		s.logErr(r, err)
		errorHeaders(w, err)
		s.render(w, r, statusOf(err), "new", map[string]any{"F": newLinkForm(f, s.formErrorOf(r, err, f.Name), principal(r).Owners(), false)})
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?created=1", http.StatusSeeOther)
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	l, err := s.opt.Links.Get(r.Context(), p, r.PathValue("name"))
	if err != nil {
		if links.ErrorCode(err) == links.NotFound {
			s.linkNotFound(w, r, r.PathValue("name"))
			return
		}
		s.errPage(w, r, err)
		return
	}
	f := formOf(l)
	if s.opt.Links.Enforce && l.Owner == "" {
		// As golink does: saving an unowned link claims it, unless the
		// owner field is cleared.
		f.Owner = p.User
	}
	q := r.URL.Query()
	data := s.linkData(p, l, f, formError{}, map[string]any{
		"IDN":     idnOf(l.URL),
		"Created": q.Has("created"), "Saved": q.Has("saved"), "Restored": q.Get("restored"),
	})
	if e, ok := s.opt.Index.Lookup(l.Key); ok {
		if f, ok := e.Target.LastFailure(); ok {
			data["Failure"] = f
		}
	}
	// The chart is extra: a page without it beats no page.
	if c, err := s.linkChart(r, l.Key); err == nil {
		data["Chart"] = c
	} else {
		s.logErr(r, err)
	}
	s.render(w, r, http.StatusOK, "link", data)
}

// linkData is what the link page shows: the edit and delete forms only to
// those who may use them, and to others why not.
func (s *Server) linkData(p links.Principal, l links.Link, f formValues, fe formError, data map[string]any) map[string]any {
	if f.OldName == "" {
		f.OldName = l.Name
	}
	data["Link"], data["Form"] = l, f
	if err := s.opt.Links.MayEdit(p, l); err != nil {
		data["CannotEdit"] = sentence(links.ErrorMessage(err))
		data["SignInToEdit"] = s.opt.OIDC != nil && p.Anonymous()
		if fe.Message != "" { // refused as a whole: no form to show it in
			data["F"] = linkForm{Err: formError{Message: fe.Message}}
		}
	} else {
		data["F"] = newLinkForm(f, fe, p.Owners(), true)
		data["AsAdmin"] = s.opt.Links.Enforce && l.Owner != "" && !p.Owns(l.Owner)
	}
	return data
}

// linkNotFound is the 404 of a link page: a deleted link of that name is
// offered back, any other name offered for creation.
func (s *Server) linkNotFound(w http.ResponseWriter, r *http.Request, name string) {
	ds, err := s.opt.Links.Deleted(r.Context(), principal(r), links.DeletedQuery{Key: links.Normalize(name), Limit: 1})
	if err != nil || len(ds) == 0 {
		s.notFound(w, r, name)
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(name)+"/history", http.StatusFound)
}

func (s *Server) updateForm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.needSignIn(w, r, "/-/links/"+url.PathEscape(name)) {
		return
	}
	f, in, err := readForm(w, r)
	p := principal(r)
	var l links.Link
	if err == nil {
		l, err = s.opt.Links.Update(r.Context(), p, name, in)
	}
	if err != nil {
		s.logErr(r, err)
		errorHeaders(w, err)
		cur, gerr := s.opt.Links.Get(r.Context(), p, name)
		if gerr != nil {
			s.errPage(w, r, err)
			return
		}
		status := statusOf(err)
		var data map[string]any
		if links.ErrorCode(err) == links.Stale {
			// Show what the other person changed and keep this edit in the
			// form, now based on the current version: saving again is a
			// decision taken with their change in view.
			stale := s.staleView(r, cur, formRev(f.Version), f)
			f.Version = cur.Rev().String()
			data = s.linkData(p, cur, f, formError{}, map[string]any{"Stale": stale})
			status = http.StatusConflict
		} else {
			data = s.linkData(p, cur, f, s.formErrorOf(r, err, f.Name), map[string]any{})
		}
		s.render(w, r, status, "link", data)
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?saved=1", http.StatusSeeOther)
}

func (s *Server) deleteForm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.needSignIn(w, r, "/-/links/"+url.PathEscape(name)) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	r.ParseForm()
	var match []links.Rev
	if v, ok := r.PostForm["version"]; ok {
		match = []links.Rev{formRev(v[0])}
	}
	p := principal(r)
	err := s.opt.Links.Delete(r.Context(), p, name, match...)
	if links.ErrorCode(err) == links.Stale {
		cur, gerr := s.opt.Links.Get(r.Context(), p, name)
		if gerr == nil {
			s.render(w, r, http.StatusConflict, "link", s.linkData(p, cur, formOf(cur), formError{}, map[string]any{
				"Stale": s.staleView(r, cur, match[0], formOf(cur)), "StaleDelete": true}))
			return
		}
	}
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/?deleted="+url.QueryEscape(name), http.StatusSeeOther)
}

// root sends go/ to the UI.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/-/", http.StatusFound)
}

// uiNotFound answers a path under /-/ that is no page of the UI.
func (s *Server) uiNotFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "There is no page "+r.URL.Path+"; the links are at /-/.")
}

func (s *Server) help(w http.ResponseWriter, r *http.Request) {
	base, ok := s.base(w, r)
	if !ok {
		base = "http://go"
	}
	data := map[string]any{"Base": base}
	// A host name carries no port: when this server is not on the
	// scheme's own port, go/name alone does not reach it.
	if u, err := url.Parse(base); err == nil {
		if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
			data["Port"], data["Scheme"] = p, u.Scheme
		}
	}
	s.render(w, r, http.StatusOK, "help", data)
}

func (s *Server) openSearch(w http.ResponseWriter, r *http.Request) {
	base, ok := s.base(w, r)
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "the Host header is not a host name; set PUBLIC_URL to name this service")
		return
	}
	w.Header().Set("Content-Type", "application/opensearchdescription+xml")
	if err := s.osd.Execute(w, map[string]string{"Base": base}); err != nil {
		s.opt.Log.Error("opensearch template failed", "err", err)
	}
}

// base is the service's absolute URL as browsers should reach it: PUBLIC_URL
// when set, whatever the request says. Without it, the request's Host (and
// the scheme, https when auth.Resolver.Secure says so: TLS, or a trusted
// proxy's X-Forwarded-Proto), which only repeats what the client sent: then
// only a plain host[:port] is accepted, and the answer is marked for no
// cache to keep, so that no client can plant its Host in a shared cache.
func (s *Server) base(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.opt.PublicURL != "" {
		return s.opt.PublicURL, true
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Host, X-Forwarded-Proto")
	if !validHost(r.Host) {
		return "", false
	}
	scheme := "http"
	if s.opt.Auth.Secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host, true
}

// validHost accepts a DNS name or IPv4 address with an optional port, or a
// bracketed IPv6 address with an optional port.
func validHost(h string) bool {
	host, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		host, port = h[:i], h[i+1:]
		if port == "" {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	if len(host) == 0 || len(host) > 253 {
		return false
	}
	if host[0] == '[' {
		a, err := netip.ParseAddr(strings.TrimSuffix(host[1:], "]"))
		return err == nil && strings.HasSuffix(host, "]") && a.Is6()
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// static serves the static files (assets.go); anything else under
// /-/static/ is a plain 404, as for any missing file.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	if !s.assets.serve(w, r, strings.TrimPrefix(r.URL.Path, "/-/static/")) {
		http.NotFound(w, r)
	}
}
