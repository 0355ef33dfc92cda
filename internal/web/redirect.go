package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/signpost-go/signpost/internal/links"
)

// redirect is the hot path: one lock-free map lookup in the index, the
// target's precomputed expansion, an atomic click count. No database.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	// The escaped path: what follows the name is appended to the target as
	// it was sent (/docs/a%3Fb must not become a query). It allocates only
	// when the path has something to escape.
	p := r.URL.EscapedPath()
	if p == "/" || p == "" {
		http.Redirect(w, r, "/-/", http.StatusFound)
		return
	}
	name, rest := p[1:], ""
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name, rest = name[:i], name[i:]
	}
	if strings.IndexByte(name, '%') >= 0 {
		if n, err := url.PathUnescape(name); err == nil {
			name = n
		}
	}
	e, ok := s.opt.Index.LookupName(name)
	if !ok {
		if s.opt.OnRedirect != nil {
			s.opt.OnRedirect(false)
		}
		s.notFound(w, r, name)
		return
	}
	var user string
	if e.Target.IsTemplate() {
		user = s.opt.Auth.User(r)
	}
	loc, err := e.Target.Expand(rest, r.URL.RawQuery, user)
	if err != nil {
		s.opt.Log.Warn("link target did not expand", "name", name, "err", err)
		s.errorPage(w, r, http.StatusBadGateway, "go/"+name+" could not be expanded: "+links.ErrorMessage(err))
		return
	}
	s.opt.Index.Click(e)
	if s.opt.OnRedirect != nil {
		s.opt.OnRedirect(true)
	}
	// Set the header map directly: "Location" is already canonical.
	w.Header()["Location"] = []string{loc}
	w.WriteHeader(http.StatusFound)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, name string) {
	data := map[string]any{"Name": name, "Valid": links.ValidateName(name) == nil}
	s.render(w, r, http.StatusNotFound, "notfound", data)
}
