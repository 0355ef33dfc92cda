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
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	data := map[string]any{"Query": q, "Deleted": r.URL.Query().Get("deleted")}
	if q != "" {
		res, err := s.opt.Links.List(ctx, links.ListOptions{Query: q, Sort: links.SortPopular, Limit: 100})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Results"] = res
	} else {
		popular, err := s.opt.Links.List(ctx, links.ListOptions{Sort: links.SortPopular, Limit: 10})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		recent, err := s.opt.Links.List(ctx, links.ListOptions{Sort: links.SortRecent, Limit: 10})
		if err != nil {
			s.errPage(w, r, err)
			return
		}
		data["Popular"], data["Recent"] = popular, recent
	}
	data["Count"] = s.opt.Index.Len()
	s.render(w, r, http.StatusOK, "home", data)
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
	s.render(w, r, http.StatusOK, "new", map[string]any{"Form": formValues{Name: q.Get("name"), URL: q.Get("url")}})
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
			s.notFound(w, r, r.PathValue("name"))
			return
		}
		s.errPage(w, r, err)
		return
	}
	f := formValues{l.Name, l.URL, l.Description, l.Owner}
	if s.opt.Links.Enforce && l.Owner == "" {
		// As golink does: saving an unowned link claims it, unless the
		// owner field is cleared.
		f.Owner = s.opt.Auth.User(r)
	}
	s.render(w, r, http.StatusOK, "link", map[string]any{
		"Link": l, "Form": f,
		"Created": r.URL.Query().Has("created"), "Saved": r.URL.Query().Has("saved"),
	})
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
		s.render(w, r, statusOf(err), "link", map[string]any{"Link": cur, "Form": f, "Error": links.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?saved=1", http.StatusSeeOther)
}

func (s *Server) deleteForm(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Links.Delete(r.Context(), s.opt.Auth.User(r), r.PathValue("name")); err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/?deleted="+url.QueryEscape(r.PathValue("name")), http.StatusSeeOther)
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
