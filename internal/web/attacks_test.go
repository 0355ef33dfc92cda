package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// The template attacks over HTTP: the save-time attack is refused at
// once; a doubling template saved as valid fails its redirect with a
// clear error page, and its link page says why.
func TestTemplateAttacksOverHTTP(t *testing.T) {
	ts := newTestServer(t, false)
	start := time.Now()
	attack := "https://x.com/{{with $x := printf \"%0999999d\" 0}}" + strings.Repeat("{{$x}}", 400) + "{{end}}"
	wantError(t, ts.do(t, "POST", "/api/v1/links", fmt.Sprintf(`{"name":"wide","url":%q}`, attack)), 400, links.Invalid, "too large")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing the width attack took %v", d)
	}
	ts.create(t, "dbl", `https://x.example/{{if gt (len .Path) 100}}{{with $p := printf "%s%s" .Path .Path}}{{with $p := printf "%s%s" $p $p}}{{with $p := printf "%s%s" $p $p}}{{$p}}{{end}}{{end}}{{end}}{{else}}ok{{end}}`)
	if r := ts.do(t, "GET", "/dbl/short", ""); r.status != 302 || r.header.Get("Location") != "https://x.example/ok" {
		t.Fatalf("short path: %d %q", r.status, r.header.Get("Location"))
	}
	r := ts.do(t, "GET", "/dbl/"+strings.Repeat("a", 2000), "")
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "could not be expanded") || !strings.Contains(r.body, "builds a value of 16000 bytes") {
		t.Fatalf("long path: %d %s", r.status, r.body)
	}
	page := ts.do(t, "GET", "/-/links/dbl", "")
	if !strings.Contains(page.body, "The last redirect through this template failed") || !strings.Contains(page.body, "builds a value of 16000 bytes") {
		t.Fatalf("the link page does not say why the redirect failed:\n%s", page.body)
	}
	if r := ts.do(t, "GET", "/dbl/"+strings.Repeat("a", 60000), ""); r.status != http.StatusBadGateway || !strings.Contains(r.body, "at most 8192") {
		t.Fatalf("60 KB path: %d %.300s", r.status, r.body)
	}
}

func TestSpoofingRefusedOverAPI(t *testing.T) {
	ts := newTestServer(t, false)
	for _, tt := range []struct{ body, msg string }{
		{`{"name":"x","url":"https://x.example","description":"evil\u202eexe.pdf"}`, "U+202E"},
		{`{"name":"x","url":"https://x.example","owner":"ana\u0000"}`, "U+0000"},
		{`{"name":"x","url":"https://x.example","owner":"` + strings.Repeat("o", 300) + `"}`, "owner is 300 bytes long"},
		{`{"name":"café","url":"https://x.example"}`, `contains 'é'`},
	} {
		wantError(t, ts.do(t, "POST", "/api/v1/links", tt.body), 400, links.Invalid, tt.msg)
	}
	ts.create(t, "cafe", "https://x.example/café?q=ü")
	if loc := ts.do(t, "GET", "/cafe", "").header.Get("Location"); loc != "https://x.example/caf%C3%A9?q=%C3%BC" {
		t.Fatalf("Location = %q, want its non-ASCII bytes percent-encoded", loc)
	}
}
