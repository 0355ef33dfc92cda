package web

import (
	"bytes"
	"net/http"
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
	data["SignIn"] = s.opt.OIDC != nil
	data["LoginURL"] = loginURL(signInReturn(r))
	data["Host"] = r.Host
	data["Scheme"] = scheme(r)
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.opt.Log.Error("template failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}

func (s *Server) errPage(w http.ResponseWriter, r *http.Request, err error) {
	s.logErr(r, err)
	s.errorPage(w, r, statusOf(err), links.ErrorMessage(err))
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ctx, p := r.Context(), principal(r)
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if r.URL.Query().Has("mine") {
		q = strings.TrimSpace("owner:me " + q)
	}
	data := map[string]any{"Query": q, "Deleted": r.URL.Query().Get("deleted"), "SignedOut": r.URL.Query().Has("signedout")}
	if q != "" {
		res, err := s.opt.Links.List(ctx, p, links.ListOptions{Query: q, Sort: links.SortPopular, Limit: 100})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Results"] = s.withPending(res)
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
		data["Popular"], data["Recent"] = s.withPending(popular), s.withPending(recent)
		if !p.Anonymous() {
			mine, err := s.opt.Links.List(ctx, p, links.ListOptions{Query: "owner:me", Sort: links.SortRecent, Limit: 10})
			if err != nil {
				s.errPage(w, r, err)
				return
			}
			data["Mine"] = s.withPending(mine)
		}
	}
	data["Count"] = s.opt.Index.Len()
	s.render(w, r, http.StatusOK, "home", data)
}

func (s *Server) withPending(ls []links.Link) []links.Link {
	for i := range ls {
		ls[i] = s.opt.Index.WithPending(ls[i])
	}
	return ls
}

// goSearch serves the browser search shortcut: "docs/a/b" goes to go/docs/a/b
// when docs exists, and anything else becomes a search.
func (s *Server) goSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	name, rest, _ := strings.Cut(strings.TrimPrefix(q, "go/"), "/")
	if name, _, _ = strings.Cut(name, " "); name != "" {
		if _, ok := s.opt.Index.Lookup(links.Normalize(name)); ok {
			target := "/" + url.PathEscape(name)
			if rest != "" {
				target += "/" + rest
			}
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
	}
	http.Redirect(w, r, "/-/?q="+url.QueryEscape(q), http.StatusFound)
}

func (s *Server) newLink(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, r.URL.RequestURI()) {
		return
	}
	q := r.URL.Query()
	s.render(w, r, http.StatusOK, "new", map[string]any{"Form": formValues{Name: q.Get("name"), URL: q.Get("url")}, "Owners": principal(r).Owners()})
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

type formValues struct{ Name, URL, Description, Owner string }

func readForm(r *http.Request) (formValues, links.Input) {
	f := formValues{
		Name:        r.PostFormValue("name"),
		URL:         r.PostFormValue("url"),
		Description: r.PostFormValue("description"),
		Owner:       r.PostFormValue("owner"),
	}
	in := links.Input{Name: &f.Name, URL: &f.URL, Description: &f.Description}
	if _, ok := r.PostForm["owner"]; ok {
		in.Owner = &f.Owner
	}
	return f, in
}

func (s *Server) createForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if s.needSignIn(w, r, "/-/new") {
		return
	}
	f, in := readForm(r)
	l, err := s.opt.Links.Create(r.Context(), principal(r), in)
	if err != nil {
		s.logErr(r, err)
		s.render(w, r, statusOf(err), "new", map[string]any{"Form": f, "Error": links.ErrorMessage(err), "Owners": principal(r).Owners()})
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?created=1", http.StatusSeeOther)
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	l, err := s.opt.Links.Get(r.Context(), p, r.PathValue("name"))
	if err != nil {
		if links.ErrorCode(err) == links.NotFound {
			s.notFound(w, r, r.PathValue("name"))
			return
		}
		s.errPage(w, r, err)
		return
	}
	l = s.opt.Index.WithPending(l)
	f := formValues{l.Name, l.URL, l.Description, l.Owner}
	if s.opt.Links.Enforce && l.Owner == "" {
		// As golink does: saving an unowned link claims it, unless the
		// owner field is cleared.
		f.Owner = p.User
	}
	s.render(w, r, http.StatusOK, "link", s.linkData(p, l, f, map[string]any{
		"Created": r.URL.Query().Has("created"), "Saved": r.URL.Query().Has("saved"),
	}))
}

// linkData is what the link page shows: the edit and delete forms only to
// those who may use them, and to others why not.
func (s *Server) linkData(p links.Principal, l links.Link, f formValues, data map[string]any) map[string]any {
	data["Link"], data["Form"] = l, f
	if err := s.opt.Links.MayEdit(p, l); err != nil {
		data["CannotEdit"] = links.ErrorMessage(err)
		data["SignInToEdit"] = s.opt.OIDC != nil && p.Anonymous()
	} else {
		data["Owners"] = p.Owners()
		data["AsAdmin"] = s.opt.Links.Enforce && l.Owner != "" && !p.Owns(l.Owner)
	}
	return data
}

func (s *Server) updateForm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.needSignIn(w, r, "/-/links/"+url.PathEscape(name)) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	f, in := readForm(r)
	p := principal(r)
	l, err := s.opt.Links.Update(r.Context(), p, name, in)
	if err != nil {
		s.logErr(r, err)
		cur, gerr := s.opt.Links.Get(r.Context(), p, name)
		if gerr != nil {
			s.errPage(w, r, err)
			return
		}
		s.render(w, r, statusOf(err), "link", s.linkData(p, cur, f, map[string]any{"Error": links.ErrorMessage(err)}))
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?saved=1", http.StatusSeeOther)
}

func (s *Server) deleteForm(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, "/-/links/"+url.PathEscape(r.PathValue("name"))) {
		return
	}
	if err := s.opt.Links.Delete(r.Context(), principal(r), r.PathValue("name")); err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/?deleted="+url.QueryEscape(r.PathValue("name")), http.StatusSeeOther)
}

func (s *Server) help(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "help", nil)
}

func (s *Server) openSearch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/opensearchdescription+xml")
	if err := s.osd.Execute(w, map[string]string{"Base": scheme(r) + "://" + r.Host}); err != nil {
		s.opt.Log.Error("opensearch template failed", "err", err)
	}
}

// scheme is how the browser reached us: https behind a TLS-terminating
// proxy that says so.
func scheme(r *http.Request) string {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return "https"
	}
	return "http"
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.assets.ServeHTTP(w, r)
}
