package links_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

// Every refusal of a link's input says which input it is about, so that a
// form can show it at that field.
func TestErrorsNameTheirField(t *testing.T) {
	ctx := context.Background()
	svc := newOpenService(t)
	svc.Enforce = true
	ana := links.Principal{User: "ana@example.com", Groups: []string{"sre"}}
	for _, name := range []string{"docs", "wiki"} {
		if _, err := svc.Create(ctx, ana, links.Input{Name: ptr(name), URL: ptr("https://x.example")}); err != nil {
			t.Fatal(err)
		}
	}
	tags := func(s string) *[]string { return &[]string{s} }
	for _, tt := range []struct {
		name  string
		in    links.Input
		field string
		code  links.Code
	}{
		{"no name", links.Input{Name: ptr(""), URL: ptr("https://x.example")}, "name", links.Invalid},
		{"bad name", links.Input{Name: ptr("a b"), URL: ptr("https://x.example")}, "name", links.Invalid},
		{"taken name", links.Input{Name: ptr("Do-cs"), URL: ptr("https://other.example")}, "name", links.Conflict},
		{"no url", links.Input{Name: ptr("x")}, "url", links.Invalid},
		{"bad scheme", links.Input{Name: ptr("x"), URL: ptr("ftp://x.example")}, "url", links.Invalid},
		{"bad template", links.Input{Name: ptr("x"), URL: ptr("https://x.example/{{nope}}")}, "url", links.Invalid},
		{"long description", links.Input{Name: ptr("x"), URL: ptr("https://x.example"), Description: ptr(strings.Repeat("d", links.MaxDescriptionLen+1))}, "description", links.Invalid},
		{"malformed group owner", links.Input{Name: ptr("x"), URL: ptr("https://x.example"), Owner: ptr("group: sre")}, "owner", links.Forbidden},
		{"someone else's owner", links.Input{Name: ptr("x"), URL: ptr("https://x.example"), Owner: ptr("bo@example.com")}, "owner", links.Forbidden},
		{"bad tag", links.Input{Name: ptr("x"), URL: ptr("https://x.example"), Tags: tags("-x")}, "tags", links.Invalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Create(ctx, ana, tt.in)
			if links.ErrorCode(err) != tt.code || links.ErrorField(err) != tt.field {
				t.Errorf("create: %v (code %q, field %q), want code %q about %q", err, links.ErrorCode(err), links.ErrorField(err), tt.code, tt.field)
			}
		})
	}
	// A rename onto a taken name, and an edit, are about the same fields.
	if _, err := svc.Update(ctx, ana, "wiki", links.Input{Name: ptr("docs")}); links.ErrorCode(err) != links.Conflict || links.ErrorField(err) != "name" {
		t.Errorf("rename onto docs: %v (field %q)", err, links.ErrorField(err))
	}
	if _, err := svc.Update(ctx, ana, "wiki", links.Input{URL: ptr("javascript:x")}); links.ErrorField(err) != "url" {
		t.Errorf("bad url on update: %v (field %q)", err, links.ErrorField(err))
	}
	// Errors of no input name none.
	if _, err := svc.Get(ctx, ana, "nope"); links.ErrorField(err) != "" {
		t.Errorf("not found names field %q", links.ErrorField(err))
	}
}

// What a refusal says is about the input, in words: no Go framing
// (text/template's "template: url:1:20: executing", url.Parse's repeat of
// the URL, Go's rune escapes).
func TestMessagesHaveNoGoFraming(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"http://[::1", `url "http://[::1" is malformed: missing ']' in host`},
		{"https://x.example/%zz", `url "https://x.example/%zz" is malformed: invalid URL escape "%zz"`},
		{"https://x.example/{{nope}}", `url template does not parse: function "nope" not defined`},
		{"https://x.example/{{.Path", "url template does not parse: unclosed action"},
		{"https://x.example/{{.Nope}}", "url template does not run: <.Nope>: there is no field Nope (a template sees .Path, .Query, .User and .Now)"},
		{"https://x.example/{{index .Path 99}}", "url template does not run: <index .Path 99>: error calling index: index out of range: 99"},
	} {
		_, err := links.ValidateTarget(tt.url)
		if msg := links.ErrorMessage(err); msg != tt.want {
			t.Errorf("ValidateTarget(%q) says %q, want %q", tt.url, msg, tt.want)
		}
	}
	for name, want := range map[string]string{
		"a b":      `name "a b" contains a space;`,
		"a\u00a0b": "contains the invisible character U+00A0;",
		"café":     `contains 'é';`,
	} {
		if msg := links.ErrorMessage(links.ValidateName(name)); !strings.HasPrefix(msg, `name "`) || !strings.Contains(msg, want) {
			t.Errorf("ValidateName(%q) says %q, want %q", name, msg, want)
		}
	}
	if _, err := links.NormalizeTags([]string{"xé"}); links.ErrorMessage(err) != `tag "xé" contains 'é'; use letters, digits, '-', '_' and '.'` {
		t.Errorf("a tag with é: %q (a character, not its bytes)", links.ErrorMessage(err))
	}
}
