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
	data["User"] = s.opt.Auth.User(r)
	data["AuditOK"] = s.opt.Links.MayReadAudit(data["User"].(string)) == nil
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

// searchLimit is how many results the home page's search shows; the
// directory pages through the rest.
const searchLimit = 50

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	data := map[string]any{"Query": q, "Deleted": r.URL.Query().Get("deleted")}
	if q != "" {
		opt := links.ParseSearch(q)
		opt.Sort, opt.Limit = links.SortClicks, searchLimit
		res, err := s.opt.Links.Store.List(ctx, opt)
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		total, err := s.opt.Links.Store.Count(ctx, opt)
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Results"], data["Total"] = s.withPending(res), total
		data["More"] = "/-/links?" + url.Values{"q": {q}, "sort": {string(links.SortClicks)}}.Encode()
	} else {
		popular, err := s.opt.Links.Store.List(ctx, links.ListOptions{Sort: links.SortPopular, Limit: 10})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		recent, err := s.opt.Links.Store.List(ctx, links.ListOptions{Sort: links.SortRecent, Limit: 10})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Popular"], data["Recent"] = s.withPending(popular), s.withPending(recent)
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
	q := r.URL.Query()
	s.render(w, r, http.StatusOK, "new", map[string]any{"Form": formValues{Name: q.Get("name"), URL: q.Get("url"), Tags: q.Get("tags")}})
}

// formValues is what a link form shows. Version is the ETag value of the
// link the edit form was loaded with: the save is conditional on it.
type formValues struct{ Name, URL, Description, Owner, Tags, Version string }

func formOf(l links.Link) formValues {
	return formValues{l.Name, l.URL, l.Description, l.Owner, l.Tags, l.Rev().String()}
}

func readForm(r *http.Request) (formValues, links.Input) {
	f := formValues{
		Name:        r.PostFormValue("name"),
		URL:         r.PostFormValue("url"),
		Description: r.PostFormValue("description"),
		Owner:       r.PostFormValue("owner"),
		Tags:        r.PostFormValue("tags"),
		Version:     r.PostFormValue("version"),
	}
	in := links.Input{Name: &f.Name, URL: &f.URL, Description: &f.Description}
	if _, ok := r.PostForm["owner"]; ok {
		in.Owner = &f.Owner
	}
	if _, ok := r.PostForm["tags"]; ok {
		tags := []string{f.Tags}
		in.Tags = &tags
	}
	if _, ok := r.PostForm["version"]; ok {
		in.IfMatch = []links.Rev{formRev(f.Version)}
	}
	return f, in
}

// formRev reads a form's version; one that does not parse matches nothing.
func formRev(v string) links.Rev {
	if rev, ok := links.ParseRev(v); ok {
		return rev
	}
	return links.Rev{ID: -1, Version: -1}
}

func (s *Server) createForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	f, in := readForm(r)
	l, err := s.opt.Links.Create(r.Context(), s.opt.Auth.User(r), in)
	if err != nil {
		s.logErr(r, err)
		s.render(w, r, statusOf(err), "new", map[string]any{"Form": f, "Error": links.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?created=1", http.StatusSeeOther)
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	l, err := s.opt.Links.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		if links.ErrorCode(err) == links.NotFound {
			s.linkNotFound(w, r, r.PathValue("name"))
			return
		}
		s.errPage(w, r, err)
		return
	}
	l = s.opt.Index.WithPending(l)
	f := formOf(l)
	if s.opt.Links.Enforce && l.Owner == "" {
		// As golink does: saving an unowned link claims it, unless the
		// owner field is cleared.
		f.Owner = s.opt.Auth.User(r)
	}
	q := r.URL.Query()
	s.render(w, r, http.StatusOK, "link", map[string]any{
		"Link": l, "Form": f,
		"Created": q.Has("created"), "Saved": q.Has("saved"), "Restored": q.Get("restored"),
	})
}

// linkNotFound is the 404 of a link page: a deleted link of that name is
// offered back, any other name offered for creation.
func (s *Server) linkNotFound(w http.ResponseWriter, r *http.Request, name string) {
	ds, err := s.opt.Links.Store.Deleted(r.Context(), links.DeletedQuery{Key: links.Normalize(name), Limit: 1})
	if err != nil || len(ds) == 0 {
		s.notFound(w, r, name)
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(name)+"/history", http.StatusFound)
}

func (s *Server) updateForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	f, in := readForm(r)
	name := r.PathValue("name")
	l, err := s.opt.Links.Update(r.Context(), s.opt.Auth.User(r), name, in)
	if err != nil {
		s.logErr(r, err)
		cur, gerr := s.opt.Links.Get(r.Context(), name)
		if gerr != nil {
			s.errPage(w, r, err)
			return
		}
		data := map[string]any{"Link": cur, "Form": f, "Error": links.ErrorMessage(err)}
		status := statusOf(err)
		if links.ErrorCode(err) == links.Stale {
			// Show what the other person changed and keep this edit in the
			// form, now based on the current version: saving again is a
			// decision taken with their change in view.
			data["Stale"] = s.staleView(r, cur, formRev(f.Version), f)
			data["Error"] = nil
			f.Version = cur.Rev().String()
			data["Form"] = f
			status = http.StatusConflict
		}
		s.render(w, r, status, "link", data)
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?saved=1", http.StatusSeeOther)
}

func (s *Server) deleteForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	r.ParseForm()
	var match []links.Rev
	if v, ok := r.PostForm["version"]; ok {
		match = []links.Rev{formRev(v[0])}
	}
	name := r.PathValue("name")
	err := s.opt.Links.Delete(r.Context(), s.opt.Auth.User(r), name, match...)
	if links.ErrorCode(err) == links.Stale {
		cur, gerr := s.opt.Links.Get(r.Context(), name)
		if gerr == nil {
			s.render(w, r, http.StatusConflict, "link", map[string]any{"Link": cur, "Form": formOf(cur),
				"Stale": s.staleView(r, cur, match[0], formOf(cur)), "StaleDelete": true})
			return
		}
	}
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/?deleted="+url.QueryEscape(name), http.StatusSeeOther)
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
