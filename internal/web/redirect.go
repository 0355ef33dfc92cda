package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/links"
)

// trailingPunct is what golink trims from the end of a name it does not
// find: go/docs. and go/docs) pasted from prose still lead to go/docs.
const trailingPunct = ".,()[]{}"

// redirect is the hot path: one lock-free map lookup in the index, the
// target's precomputed expansion, an atomic click count. No database.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	// The escaped path: what follows the name is appended to the target as
	// it was sent (/docs/a%3Fb must not become a query). It allocates only
	// when the path has something to escape.
	p := r.URL.EscapedPath()
	name, rest := p[1:], ""
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name, rest = name[:i], name[i:]
	}
	if strings.IndexByte(name, '%') >= 0 {
		if n, err := url.PathUnescape(name); err == nil {
			name = n
		}
	}
	if len(name) > 1 && name[len(name)-1] == '+' {
		// go/docs+ opens the link's page, as golink's go/docs+ does.
		http.Redirect(w, r, "/-/links/"+url.PathEscape(name[:len(name)-1]), http.StatusFound)
		return
	}
	e, ok := s.opt.Index.LookupName(name)
	if !ok {
		if trimmed := strings.TrimRight(name, trailingPunct); trimmed != name {
			name = trimmed
			e, ok = s.opt.Index.LookupName(name)
		}
	}
	if !ok {
		if s.opt.OnRedirect != nil {
			s.opt.OnRedirect(false)
		}
		s.notFound(w, r, name)
		return
	}
	who, resolved := auth.FromContext(r.Context())
	if !resolved && (e.Target.IsTemplate() || r.Header["Authorization"] != nil) {
		var err error
		if who, err = s.opt.Auth.Resolve(r); err != nil {
			s.refuse(w, r, err)
			return
		}
	}
	loc, err := e.Target.Expand(r.Context(), rest, r.URL.RawQuery, who.User)
	if links.ErrorCode(err) == links.Unauthorized {
		// A browser that is not signed in goes through sign-in and back,
		// when this server signs people in (refuse); else a 401 page.
		s.refuse(w, r, links.Errorf(links.Unauthorized, "go/%s leads somewhere that depends on who you are: %s", name, links.ErrorMessage(err)))
		return
	}
	if err != nil {
		s.opt.Log.Warn("link target did not expand", "name", name, "err", err)
		if !e.Target.IsTemplate() { // the rest made the URL malformed
			s.errorPage(w, r, http.StatusBadGateway, "go/"+name+" could not be expanded for this request: "+links.ErrorMessage(err))
			return
		}
		s.errorPage(w, r, http.StatusBadGateway, "go/"+name+" is a template that could not be expanded for this request: "+
			links.ErrorMessage(err)+". Its page, /-/links/"+name+", shows the template and this error.")
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
	data := map[string]any{"Name": name, "F": linkForm{Form: formValues{Name: name}, Short: true, Focus: "url"}}
	if err := links.ValidateName(name); err != nil {
		data["Invalid"] = sentence(links.ErrorMessage(err))
	}
	s.render(w, r, http.StatusNotFound, "notfound", data)
}
