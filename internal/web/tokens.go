package web

import (
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// tokenRecord is a token as the API shows it; Token (the secret) only in
// the answer that created it.
type tokenRecord struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Owner      string        `json:"owner"`
	Scopes     []links.Scope `json:"scopes"`
	CreatedAt  time.Time     `json:"created_at"`
	LastUsedAt *time.Time    `json:"last_used_at"`
	ExpiresAt  *time.Time    `json:"expires_at"`
	Token      string        `json:"token,omitempty"`
}

func toTokenRecord(t links.Token) tokenRecord {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return tokenRecord{ID: t.ID, Name: t.Name, Owner: t.Owner, Scopes: t.Scopes, CreatedAt: t.CreatedAt,
		LastUsedAt: opt(t.LastUsedAt), ExpiresAt: opt(t.ExpiresAt)}
}

type tokenBody struct {
	Name      string        `json:"name"`
	Scopes    []links.Scope `json:"scopes"`
	ExpiresAt *time.Time    `json:"expires_at"`
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	// Only JSON, as for link bodies: a browser's cross-site form post
	// cannot be read as one.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.apiErr(w, r, links.Errorf(links.UnsupportedMediaType, `send {"name", "scopes"} as JSON with Content-Type: application/json`))
		return
	}
	var b tokenBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.apiErr(w, r, err)
		return
	}
	in := links.TokenInput{Name: b.Name, Scopes: b.Scopes}
	if b.ExpiresAt != nil {
		in.ExpiresAt = *b.ExpiresAt
	}
	t, err := s.opt.Links.CreateToken(r.Context(), principal(r), in)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	rec := toTokenRecord(t.Token)
	rec.Token = t.Secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, rec)
}

func (s *Server) apiListTokens(w http.ResponseWriter, r *http.Request) {
	q, err := strictQuery(r, "all")
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	all := q.Get("all") == "true"
	if v := q.Get("all"); q.Has("all") && v != "true" && v != "false" {
		s.apiErr(w, r, links.Errorf(links.Invalid, "all is true or false, not %q", v))
		return
	}
	ts, err := s.opt.Links.ListTokens(r.Context(), principal(r), all)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	out := make([]tokenRecord, len(ts))
	for i, t := range ts {
		out[i] = toTokenRecord(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Links.RevokeToken(r.Context(), principal(r), r.PathValue("id")); err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tokenExpiries are the lifetimes the UI offers, in days (0: never).
var tokenExpiries = []int{30, 90, 365, 0}

// tokensPage lists the user's tokens (everyone's for an admin with
// ?all=1) with a form for a new one.
func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, "/-/tokens") {
		return
	}
	s.renderTokens(w, r, http.StatusOK, map[string]any{})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, data map[string]any) {
	p := principal(r)
	all := r.URL.Query().Has("all")
	ts, err := s.opt.Links.ListTokens(r.Context(), p, all)
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	data["Tokens"], data["All"], data["Scopes"], data["Expiries"] = ts, all, links.Scopes, tokenExpiries
	if _, asked := data["Checked"]; !asked { // a new form: read-only, for a month
		data["Checked"], data["ExpiresDays"] = []links.Scope{links.ScopeRead}, tokenExpiries[0]
	}
	if _, ok := data["Err"]; !ok {
		data["Err"] = formError{}
	}
	data["MayAdmin"] = p.IsAdmin()
	if data["Base"], _ = s.base(w, r); data["Base"] == "" {
		data["Base"] = "http://go"
	}
	s.render(w, r, status, "tokens", data)
}

// createTokenForm makes a token and shows its secret, once: it is in this
// answer and nowhere else.
func (s *Server) createTokenForm(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, "/-/tokens") {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	in := links.TokenInput{Name: r.PostFormValue("name")}
	for _, sc := range r.PostForm["scope"] {
		in.Scopes = append(in.Scopes, links.Scope(sc))
	}
	if d, err := strconv.Atoi(r.PostFormValue("expires_days")); err == nil && d > 0 && d <= 3660 {
		in.ExpiresAt = s.opt.Now().Add(time.Duration(d) * 24 * time.Hour)
	}
	t, err := s.opt.Links.CreateToken(r.Context(), principal(r), in)
	if err != nil {
		s.logErr(r, err)
		errorHeaders(w, err)
		// The form keeps what was asked for, with the error at its field.
		days, _ := strconv.Atoi(r.PostFormValue("expires_days"))
		s.renderTokens(w, r, statusOf(err), map[string]any{"Err": s.formErrorOf(r, err, ""),
			"TokenName": in.Name, "Checked": in.Scopes, "ExpiresDays": days})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderTokens(w, r, http.StatusCreated, map[string]any{"New": t})
}

func (s *Server) revokeTokenForm(w http.ResponseWriter, r *http.Request) {
	if s.needSignIn(w, r, "/-/tokens") {
		return
	}
	if err := s.opt.Links.RevokeToken(r.Context(), principal(r), r.PathValue("id")); err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/tokens?revoked="+r.PathValue("id"), http.StatusSeeOther)
}
