package links

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The seed corpus runs in every `go test`; `go test -fuzz=FuzzX` explores.

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"docs", "Foo-Bar", "a-b-c", "ÄÖ", "--", "x.y_z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Normalize(s)
		if a := string(AppendKey(nil, s)); a != k {
			t.Fatalf("AppendKey(%q) = %q, Normalize = %q", s, a, k)
		}
		if Normalize(k) != k {
			t.Fatalf("Normalize is not idempotent on %q: %q then %q", s, k, Normalize(k))
		}
		if strings.ContainsAny(k, "-ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Fatalf("Normalize(%q) = %q still has a dash or capital", s, k)
		}
		if ValidateName(s) == nil && (k == "" || len(k) > len(s)) {
			t.Fatalf("valid name %q has key %q", s, k)
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"https://a.example/x?y=1#z", "javascript:alert(1)", "http://[::1]:80/", "data:,x",
		"https://x.example/{{.Path}}", "{{.Path}}", "https://a.example/{{QueryEscape .Query}}", "//a.example"} {
		f.Add(s, "/a/b", "q=1")
	}
	f.Fuzz(func(t *testing.T, raw, rest, query string) {
		tg, err := ParseTarget(raw)
		if err != nil {
			if ErrorCode(err) != Invalid {
				t.Fatalf("ParseTarget(%q) error has code %q", raw, ErrorCode(err))
			}
			return
		}
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		out, err := tg.Expand(context.Background(), url.PathEscape(rest), url.QueryEscape(query), "u")
		if err != nil {
			return // a template may refuse its input; never panic
		}
		l := strings.ToLower(out)
		if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			t.Fatalf("target %q expanded to %q, not http(s)", raw, out)
		}
	})
}

// FuzzExpand: whatever template a user saves and whatever request comes,
// an expansion yields at most MaxURLLen bytes of http(s) URL or an error,
// and takes at most MaxExpandTime plus the one call it may be in (each
// call is bounded by the work budget; 250ms leaves room for a busy
// machine). The seeds are the attacks of issue 9.
func FuzzExpand(f *testing.F) {
	long := strings.Repeat("ab", 3000)
	for _, s := range []struct{ body, path, query string }{
		{`{{QueryEscape .Path}}`, "a b", ""},
		{`{{with $x := printf "%0999999d" 0}}{{$x}}{{$x}}{{end}}`, "", ""},
		{`{{if gt (len .Path) 9}}{{with $p := printf "%s%s" .Path .Path}}{{with $p := printf "%s%s" $p $p}}{{with $p := printf "%s%s" $p $p}}{{$p}}{{end}}{{end}}{{end}}{{end}}`, long, ""},
		{`{{if .Query}}{{printf .Query .Path .Path}}{{end}}`, long, "%[1]s%[2]s%[1]s%99s"},
		{`{{if Match "(?:a|b|c|aa|ab){40}Z" .Path}}{{end}}{{if Match "(?:a|b|c|aa|ab){40}Z" .Path}}{{end}}`, long, ""},
		{`{{if .Path}}{{js .Path}}{{html .Query}}{{urlquery .Path .Query}}{{end}}`, strings.Repeat("<", 3000), strings.Repeat(`"`, 3000)},
		{`{{if .Path}}{{index .Path 1}}{{slice .Path 1 3}}{{len .Query}}{{end}}`, long, "q"},
		{`{{print .}}{{println . .}}{{printf "%#v %+q % #x" . .Path .Query}}`, "ü\x00", "é"},
		{`{{.Now.Format "2006-01-02 Monday January"}}{{.User}}`, "", ""},
		{`{{if eq .Path "x"}}javascript:alert(1){{end}}`, "x", ""},
	} {
		f.Add("https://x.example/"+s.body, s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, raw, path, query string) {
		tg, err := ValidateTarget(raw)
		if err != nil {
			return
		}
		start := time.Now()
		out, err := tg.Expand(context.Background(), "/"+url.PathEscape(path), query, "user@example.com")
		if d := time.Since(start); d > MaxExpandTime+250*time.Millisecond {
			t.Fatalf("target %q took %v on path %.40q", raw, d, path)
		}
		if err != nil {
			if c := ErrorCode(err); c != Invalid && c != TooLarge {
				t.Fatalf("target %q: error code %q: %v", raw, c, err)
			}
			return
		}
		if len(out) > MaxURLLen {
			t.Fatalf("target %q expanded to %d bytes", raw, len(out))
		}
		l := strings.ToLower(out)
		if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			t.Fatalf("target %q expanded to %q, not http(s)", raw, out)
		}
		for i := 0; i < len(out); i++ {
			if mustEncode(out[i]) {
				t.Fatalf("target %q expanded to %q, with a raw byte %#x", raw, out, out[i])
			}
		}
	})
}

// The allocation-free expansion of plain targets gives exactly what
// golink's algorithm (expandSlow: append, url.Parse, merge, String) gives.
func FuzzExpandFastMatchesGolink(f *testing.F) {
	for _, s := range []string{"https://a.example/x?y=1#z", "https://a.example/docs/", "https://a.example", "https://a.example/s?b=2&a=1",
		"https://a.example/#/app", "https://a.example/p?", "https://a.example/p#", "HTTPS://A.example/%7Efoo", "https://a.example/a|b?q=%20"} {
		for _, q := range []string{"", "x=1", "a=1&a=0&b=2", "b=1&a=2", "q=a%20b", "q=a+b", "x", "&", "a=%zz", "k=%2F%C3%A9", ";a=1", "=1"} {
			f.Add(s, "/a/b", q)
			f.Add(s, "", q)
		}
	}
	f.Fuzz(func(t *testing.T, raw, rest, query string) {
		tg, err := ParseTarget(raw)
		if err != nil || tg.IsTemplate() {
			return
		}
		if rest != "" && !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		rest = (&url.URL{Path: rest}).EscapedPath() // as a server's request URL has it
		got, err := tg.Expand(context.Background(), rest, query, "")
		if err != nil {
			t.Fatalf("Expand(%q, %q) on %q: %v", rest, query, raw, err)
		}
		remainder := rest
		if remainder != "" {
			remainder = remainder[1:]
		}
		want, err := tg.expandSlow(remainder, query)
		if err != nil {
			return // the appended rest made it malformed for url.Parse too
		}
		if got != want {
			t.Fatalf("Expand(%q, %q) on %q = %q, golink's algorithm gives %q", rest, query, raw, got, want)
		}
	})
}
