package web_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/signpost-go/signpost/internal/web"
)

// element is one element of a page, found by its id.
type element struct {
	attrs map[string]string
	text  string
}

// byID parses page and returns its elements with an id.
func byID(t *testing.T, page string) map[string]element {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]element{}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		e := element{attrs: map[string]string{}}
		for _, a := range n.Attr {
			e.attrs[a.Key] = a.Val
		}
		if id := e.attrs["id"]; id != "" {
			e.text = strings.Join(strings.Fields(text(n)), " ")
			out[id] = e
		}
	}
	return out
}

// A refused form shows the message at the field it is about, in words:
// the field is marked invalid, described by the message and focused; the
// summary at the top leads to it; a taken name links to the link that
// has it. The other fields are left alone, and keep what was typed.
func TestFormErrorsAtTheField(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "Team-Docs", "https://docs.example")
	ts.create(t, "wiki", "https://wiki.example")
	if r := ts.do(t, "POST", "/api/v1/links", `{"name":"td","alias_of":"Team-Docs"}`); r.status != 201 {
		t.Fatalf("create alias: %d %s", r.status, r.body)
	}
	post := func(path string, v url.Values) response {
		t.Helper()
		return ts.do(t, "POST", path, v.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	}
	long := strings.Repeat("d", 2049)
	for _, tt := range []struct {
		name, path string
		form       url.Values
		status     int
		field, id  string // the form's field, the input's id
		message    string // the message at the field
		link       string // a link the message holds
	}{
		{"bad scheme", "/-/links", url.Values{"name": {"x"}, "url": {"ftp://x.example"}, "description": {"kept"}}, 400,
			"url", "f-url", `The URL scheme "ftp" is not allowed; only http and https are.`, ""},
		{"bad name", "/-/links", url.Values{"name": {"a b"}, "url": {"https://x.example"}}, 400,
			"name", "f-name", `The name "a b" contains a space; use letters, digits, '-', '_' and '.'.`, ""},
		{"taken name", "/-/links", url.Values{"name": {"teamdocs"}, "url": {"https://x.example"}}, 409,
			"name", "f-name", `go/Team-Docs already exists (names ignore case and dashes, so “teamdocs” is the same name). Choose another name, or edit go/Team-Docs instead.`, "/-/links/Team-Docs"},
		{"long description", "/-/links", url.Values{"name": {"x"}, "url": {"https://x.example"}, "description": {long}}, 400,
			"description", "f-description", "The description is 2049 bytes long; the limit is 2048.", ""},
		{"bad tag", "/-/links/wiki", url.Values{"name": {"wiki"}, "url": {"https://wiki.example"}, "tags": {"ok -bad"}, "owner": {""}}, 400,
			"tags", "f-tags", `The tag "-bad" must start with a letter or digit.`, ""},
		{"rename onto a taken name", "/-/links/wiki", url.Values{"name": {"Team-Docs"}, "url": {"https://wiki.example"}, "owner": {""}}, 409,
			"name", "f-name", "go/Team-Docs already exists. Choose another name, or edit go/Team-Docs instead.", "/-/links/Team-Docs"},
		{"alias of a missing link", "/-/links", url.Values{"name": {"al"}, "url": {""}, "alias_of": {"nowhere"}}, 400,
			"alias_of", "f-alias_of", "There is no go/nowhere to be an alias of.", ""},
		{"alias of an alias", "/-/links", url.Values{"name": {"al"}, "url": {""}, "alias_of": {"td"}}, 400,
			"alias_of", "f-alias_of", "go/td is an alias of go/Team-Docs itself, and aliases of aliases are refused; make go/al an alias of go/Team-Docs.", ""},
		{"alias with a URL", "/-/links/wiki", url.Values{"name": {"wiki"}, "url": {"https://wiki.example"}, "alias_of": {"Team-Docs"}, "owner": {""}}, 400,
			"url", "f-url", "go/wiki is an alias of go/Team-Docs and has no URL of its own; leave the URL empty, or make it no alias.", ""},
		{"bad template", "/-/links", url.Values{"name": {"t"}, "url": {"https://x.example/{{.Nope}}"}}, 400,
			"url", "f-url", "The URL template does not run: <.Nope>: there is no field Nope (a template sees .Path, .Query, .User and .Now).", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.path, tt.form)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			els := byID(t, r.body)
			in, ok := els[tt.id]
			if !ok {
				t.Fatalf("no #%s on the page", tt.id)
			}
			errID := tt.field + "-error"
			if in.attrs["aria-invalid"] != "true" || !strings.Contains(" "+in.attrs["aria-describedby"]+" ", " "+errID+" ") {
				t.Errorf("#%s: aria-invalid %q, aria-describedby %q; want it invalid and described by #%s", tt.id, in.attrs["aria-invalid"], in.attrs["aria-describedby"], errID)
			}
			if _, ok := in.attrs["autofocus"]; !ok {
				t.Errorf("#%s does not get the focus", tt.id)
			}
			if got := els[errID].text; got != tt.message {
				t.Errorf("#%s says %q, want %q", errID, got, tt.message)
			}
			if tt.link != "" && !strings.Contains(r.body, `<a href="`+tt.link+`">`) {
				t.Errorf("the message does not link to %s", tt.link)
			}
			if sum := els["form-error"]; !strings.Contains(sum.text, "Nothing was saved: check the") || !strings.Contains(r.body, `href="#`+tt.id+`"`) {
				t.Errorf("summary %q does not lead to #%s", sum.text, tt.id)
			}
			invalid := 0
			for id, e := range els {
				if e.attrs["aria-invalid"] == "true" {
					invalid++
					if id != tt.id {
						t.Errorf("#%s is marked invalid too", id)
					}
				}
			}
			if invalid != 1 {
				t.Errorf("%d fields marked invalid, want 1", invalid)
			}
			if v := tt.form.Get("description"); v != "" && els["f-description"].text != v {
				t.Errorf("the description was not kept: %.40q", els["f-description"].text)
			}
		})
	}

	// A refusal about no field is the summary alone, a sentence.
	r := ts.do(t, "POST", "/-/links", strings.Repeat("x", 70<<10), "Content-Type", "application/x-www-form-urlencoded")
	if els := byID(t, r.body); r.status != 413 || els["form-error"].text != "The form is larger than 64 KiB." {
		t.Errorf("oversized form: %d %q", r.status, els["form-error"].text)
	}
	// Unrefused forms mark nothing invalid.
	for _, path := range []string{"/-/new", "/-/links/wiki", "/nothing-here"} {
		for id, e := range byID(t, ts.do(t, "GET", path, "").body) {
			if _, ok := e.attrs["aria-invalid"]; ok || strings.HasSuffix(id, "-error") {
				t.Errorf("GET %s: #%s is marked as an error", path, id)
			}
		}
	}
}

// Descriptions are edited in a textarea, on every link form.
func TestDescriptionsEditInATextarea(t *testing.T) {
	ts := newTestServer(t, false)
	ts.do(t, "POST", "/api/v1/links", `{"name":"docs","url":"https://docs.example","description":"Line one <b>and</b> more"}`)
	for _, path := range []string{"/-/new", "/-/links/docs", "/nothing-here"} {
		body := ts.do(t, "GET", path, "").body
		if !strings.Contains(body, `<textarea name="description" id="f-description"`) {
			t.Errorf("GET %s: no description textarea", path)
		}
	}
	if body := ts.do(t, "GET", "/-/links/docs", "").body; !strings.Contains(body, `>Line one &lt;b&gt;and&lt;/b&gt; more</textarea>`) {
		t.Error("the link page's textarea does not hold the description, escaped")
	}
}

// sentence is tested through the pages: messages of the domain start with
// a capital (the field named in words) and end with a full stop, and a
// message that starts with go/name keeps its case.
func TestPageMessagesAreSentences(t *testing.T) {
	ts := newTestServer(t, false)
	ts.create(t, "docs", "https://docs.example")
	for _, tt := range []struct{ path, want string }{
		{"/-/?q=" + strings.Repeat("q", 201), "A search is at most 200 bytes; this one has 201."},
		{"/-/go?q=docs/a%5Cb", "go/docs: a path may not contain a backslash."},
		{"/-/nope", "There is no page /-/nope; the links are at /-/."},
	} {
		r := ts.do(t, "GET", tt.path, "")
		if got := byID(t, r.body)["error-message"].text; got != tt.want {
			t.Errorf("GET %s says %q, want %q", tt.path, got, tt.want)
		}
	}
}

// The token form shows its refusals at the field too, and keeps what was
// asked for.
func TestTokenFormErrorsAtTheField(t *testing.T) {
	ts := newProxyServer(t, false)
	ana := as("ana@x")
	for _, tt := range []struct {
		name    string
		form    url.Values
		id, msg string
	}{
		{"no scope", url.Values{"name": {"laptop"}, "expires_days": {"90"}}, "f-scopes", "A token needs at least one scope:"},
		{"admin scope", url.Values{"name": {"laptop"}, "scope": {"links:write", "admin"}, "expires_days": {"90"}}, "f-scopes", "Only admins may make tokens with the admin scope."},
		{"no name", url.Values{"name": {" "}, "scope": {"links:write"}, "expires_days": {"90"}}, "f-name", "A token needs a name."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/-/tokens", tt.form.Encode(), formHdr(ana)...)
			if r.status/100 != 4 {
				t.Fatalf("status %d", r.status)
			}
			els := byID(t, r.body)
			field := strings.TrimPrefix(tt.id, "f-")
			if d := els[tt.id].attrs["aria-describedby"]; d != field+"-error" {
				t.Errorf("#%s aria-describedby %q", tt.id, d)
			}
			if got := els[field+"-error"].text; !strings.HasPrefix(got, tt.msg) {
				t.Errorf("#%s-error says %q, want %q", field, got, tt.msg)
			}
			if !strings.Contains(r.body, `<option value="90" selected>`) {
				t.Error("the expiry asked for is not kept")
			}
			if w := tt.form.Get("scope"); w != "" && !strings.Contains(r.body, `value="`+w+`" checked`) { // the first one: admin is not offered to ana
				t.Errorf("the scope %s asked for is not kept", w)
			}
		})
	}
}

// The help page's hostname tip says how to reach go/ when the service is
// not on its scheme's own port: a host name carries none.
func TestHelpAccountsForThePort(t *testing.T) {
	for _, tt := range []struct {
		public string
		want   string // "" : no port tip
	}{
		{"http://go:8080", `type <code>go:8080/name</code> (the home page is <a href="http://go:8080/">http://go:8080/</a>)`},
		{"https://go.corp.example:8443", `<a href="https://go:8443/">https://go:8443/</a>). For plain <code>go/name</code>, Signpost has to answer on port 443`},
		{"http://go", ""},
		{"http://go:80", ""},
		{"https://go.corp.example", ""},
	} {
		ts := newTestServer(t, false, func(o *web.Options) { o.PublicURL = tt.public })
		body := ts.do(t, "GET", "/-/help", "").body
		tip := byID(t, body)["port-tip"]
		switch {
		case tt.want == "" && tip.text != "":
			t.Errorf("PUBLIC_URL=%s: a port tip: %q", tt.public, tip.text)
		case tt.want != "" && !strings.Contains(body, tt.want):
			t.Errorf("PUBLIC_URL=%s: the tip %q lacks %q", tt.public, tip.text, tt.want)
		case tt.want != "" && !strings.Contains(tip.text, "docs/runbooks.md"):
			t.Errorf("PUBLIC_URL=%s: the tip does not point to the runbook", tt.public)
		}
	}
	// Without PUBLIC_URL, the port the browser used.
	ts := newTestServer(t, false)
	_, port, _ := strings.Cut(strings.TrimPrefix(ts.URL, "http://"), ":")
	if body := ts.do(t, "GET", "/-/help", "").body; !strings.Contains(body, "<code>go:"+port+"/name</code>") {
		t.Errorf("the tip does not name the port %s the page was fetched from", port)
	}
}
