package web

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/signpost-go/signpost/internal/links"
)

// formError is a refused form as the page shows it: the message next to
// the field it is about (which is marked invalid and focused), and a
// summary at the top that leads there. A taken name links to the link
// that has it.
type formError struct {
	Message string // a sentence
	Field   string // the input it is about ("name", "url", ...), or ""
	// Existing is the name of the link that already has the name typed
	// (a Conflict); Typed is that name as typed, when it is spelled
	// differently (names ignore case and dashes).
	Existing, Typed string
}

// On reports whether the error is about field.
func (e formError) On(field string) bool { return e.Field != "" && e.Field == field }

// Label is how the summary names the field.
func (e formError) Label() string { return fieldLabels[e.Field] }

// fieldLabels name the fields of the link and token forms in the summary
// ("check the target URL").
var fieldLabels = map[string]string{
	"name": "name", "url": "target URL", "alias_of": "alias of", "description": "description", "tags": "tags", "owner": "owner",
	"scopes": "scopes", "expires": "expiry",
}

// formErrorOf turns a refusal of a form into what the page shows. typed
// is the name the form asked for, to find the link that has it when the
// name is taken.
func (s *Server) formErrorOf(r *http.Request, err error, typed string) formError {
	fe := formError{Message: sentence(links.ErrorMessage(err)), Field: links.ErrorField(err)}
	if _, known := fieldLabels[fe.Field]; !known {
		fe.Field = ""
	}
	if links.ErrorCode(err) == links.Conflict && fe.Field == "name" {
		if l, gerr := s.opt.Links.Get(r.Context(), principal(r), typed); gerr == nil {
			fe.Existing = l.Name
			if strings.TrimSpace(typed) != l.Name {
				fe.Typed = strings.TrimSpace(typed)
			}
		}
	}
	return fe
}

// linkForm is what the link forms' fields (templates/form.html) show.
type linkForm struct {
	Form   formValues
	Err    formError
	Owners []string // offered as owners; the owner field shows only with them, or when editing
	Edit   bool     // the edit form of an existing link
	Short  bool     // name, URL and description only (the not-found page's form)
	Focus  string   // the field that gets the focus: the invalid one, else the first to fill
}

func newLinkForm(f formValues, fe formError, owners []string, edit bool) linkForm {
	lf := linkForm{Form: f, Err: fe, Owners: owners, Edit: edit, Focus: fe.Field}
	if lf.Focus == "" && !edit {
		lf.Focus = "name"
		if f.Name != "" {
			lf.Focus = "url"
		}
	}
	return lf
}

// sentence makes a message of the domain, written to compose the way Go
// errors do ("url scheme "ftp" is not allowed; only http and https are"),
// read as a sentence on a page: "The URL scheme "ftp" is not allowed; only
// http and https are." A message that starts with go/name keeps its case.
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	for _, w := range [...]struct{ word, as string }{
		{"url", "The URL"}, {"name", "The name"}, {"tag", "The tag"}, {"owner", "The owner"}, {"description", "The description"},
	} {
		if rest, ok := strings.CutPrefix(msg, w.word+" "); ok {
			msg = w.as + " " + rest
			break
		}
	}
	if !strings.HasPrefix(msg, "go/") {
		r, n := utf8.DecodeRuneInString(msg)
		msg = string(unicode.ToUpper(r)) + msg[n:]
	}
	if last, _ := utf8.DecodeLastRuneInString(msg); !strings.ContainsRune(".!?", last) {
		msg += "."
	}
	return msg
}
