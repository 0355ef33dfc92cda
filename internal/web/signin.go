package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signpost-go/signpost/internal/auth"
	"github.com/signpost-go/signpost/internal/links"
)

// principal is who sent r, as the middleware resolved it.
func principal(r *http.Request) links.Principal { return auth.PrincipalFrom(r.Context()) }

// identify resolves r's principal once and hands it on in the context. A
// request with bad credentials (a bad, expired or revoked token; a
// repeated identity header) is answered 401 here, never served as
// anonymous. With REQUIRE_LOGIN, everything but the probes, static files
// and sign-in itself needs a principal.
func (s *Server) identify(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.opt.Auth.Resolve(r)
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		r2 := r.WithContext(auth.WithPrincipal(r.Context(), p))
		if s.opt.Links.RequireLogin && !openPath(r.URL.Path) {
			if err := s.opt.Links.MayRead(p); err != nil {
				s.refuse(w, r2, err)
				return
			}
		}
		h.ServeHTTP(w, r2)
		// The mux set the route on the copy; the metrics middleware
		// outside reads it from r (ops.Metrics.Instrument).
		r.Pattern = r2.Pattern
	})
}

// openPath: served without a principal even under REQUIRE_LOGIN.
func openPath(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/-/login", auth.CallbackPath, "/-/logout", "/-/opensearch.xml",
		"/api/v1/openapi.json":
		return true
	}
	return strings.HasPrefix(path, "/-/static/")
}

// refuse answers an authentication or permission error: JSON on the API; a
// browser that is not signed in goes through sign-in and back (when this
// server signs people in); anything else gets the error page.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case isAPIPath(r.URL.Path):
		s.apiErr(w, r, err)
	case links.ErrorCode(err) == links.Unauthorized && principal(r).Anonymous() && s.opt.OIDC != nil &&
		(r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Authorization") == "":
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
	default:
		s.errPage(w, r, err)
	}
}

// signInReturn is where a sign-in started from r's page comes back to:
// the page itself, unless it is sign-in's own or the answer to a form.
func signInReturn(r *http.Request) string {
	if r.Method != http.MethodGet || r.URL.Path == "/-/login" || r.URL.Path == auth.CallbackPath {
		return "/-/"
	}
	return r.URL.RequestURI()
}

// loginURL is the sign-in page that comes back to ret afterwards.
func loginURL(ret string) string { return "/-/login?return=" + url.QueryEscape(ret) }

// safeReturn returns ret when it is a path on this server, and "/-/"
// otherwise: the return URL must not send a browser that just signed in
// to another site (an open redirect). Only "/" followed by something that
// is not "/" or "\" (which browsers read as "//host") passes, with no
// scheme, host or control characters.
func safeReturn(ret string) string {
	const home = "/-/"
	if len(ret) > 2048 || !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") {
		return home
	}
	if strings.ContainsFunc(ret, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return home
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return home
	}
	return ret
}

// baseURL is how the browser reached us: scheme://host.
func (s *Server) baseURL(r *http.Request) string {
	if s.opt.Auth.Secure(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// login sends the browser to the identity provider, keeping state, nonce,
// PKCE verifier and the return path in a sealed cookie until it comes back.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opt.OIDC == nil {
		s.errorPage(w, r, http.StatusNotFound, "This server does not sign people in itself (AUTH_MODE is not oidc).")
		return
	}
	ret := safeReturn(r.URL.Query().Get("return"))
	if !principal(r).Anonymous() {
		http.Redirect(w, r, ret, http.StatusFound)
		return
	}
	u, l, err := s.opt.OIDC.Start(s.opt.OIDC.RedirectURL(s.baseURL(r)), ret)
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	if err := s.opt.Auth.Sessions.SetCookie(w, auth.LoginCookie, l, auth.LoginLifetime, s.opt.Auth.Secure(r)); err != nil {
		s.errPage(w, r, links.Wrap(err, links.Internal, "could not start the sign-in"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// callback finishes the sign-in the provider sends the browser back from.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if s.opt.OIDC == nil {
		s.errorPage(w, r, http.StatusNotFound, "This server does not sign people in itself (AUTH_MODE is not oidc).")
		return
	}
	secure := s.opt.Auth.Secure(r)
	var l auth.Login
	c, err := r.Cookie(auth.LoginCookie)
	if err != nil || s.opt.Auth.Sessions.Open(auth.LoginCookie, c.Value, &l) != nil {
		s.errPage(w, r, links.Errorf(links.Invalid, "this sign-in was not started here, or took longer than %d minutes: sign in again", int(auth.LoginLifetime/time.Minute)))
		return
	}
	auth.ClearCookie(w, auth.LoginCookie, secure)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.errPage(w, r, links.Errorf(links.Forbidden, "the identity provider refused the sign-in: %s %s", e, q.Get("error_description")))
		return
	}
	sess, err := s.opt.OIDC.Finish(r.Context(), l, q.Get("state"), q.Get("code"))
	if err != nil {
		s.opt.Log.Warn("sign-in failed", "err", err)
		s.errPage(w, r, err)
		return
	}
	if err := s.opt.Auth.Sessions.SetCookie(w, auth.SessionCookie, sess, auth.SessionLifetime, secure); err != nil {
		s.errPage(w, r, links.Wrap(err, links.Forbidden, "cannot keep this sign-in: "+err.Error()))
		return
	}
	s.opt.Log.Info("signed in", "user", sess.User, "groups", len(sess.Groups))
	http.Redirect(w, r, safeReturn(l.Return), http.StatusSeeOther)
}

// logout clears the session. It is a POST (from the header's form), so
// that another site cannot sign people out with a link or an image.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	auth.ClearCookie(w, auth.SessionCookie, s.opt.Auth.Secure(r))
	http.Redirect(w, r, "/-/?signedout=1", http.StatusSeeOther)
}
