package main

import (
	"context"
	"html/template"
	"net/http"
)

// loginPage is the provider's sign-in form: e-mail and password.
type loginPage struct {
	st       *storage
	callback func(ctx context.Context, id string) string
}

var loginHTML = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test provider: sign in</title></head>
<body>
<h1>Test OpenID provider</h1>
{{with .Error}}<p id="error" role="alert">{{.}}</p>{{end}}
<form method="post" action="/login" id="login">
  <input type="hidden" name="id" value="{{.ID}}">
  <label>E-mail <input name="email" id="email" autocomplete="username"></label>
  <label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
  <button type="submit" id="submit">Sign in</button>
</form>
</body></html>
`))

func (l *loginPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch r.Method {
	case http.MethodGet:
		loginHTML.Execute(w, map[string]string{"ID": r.URL.Query().Get("id")})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		id := r.PostFormValue("id")
		if err := l.st.signIn(id, r.PostFormValue("email"), r.PostFormValue("password")); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			loginHTML.Execute(w, map[string]string{"ID": id, "Error": err.Error()})
			return
		}
		http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
