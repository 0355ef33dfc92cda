package links

import (
	"net/url"
	"strings"
	"testing"
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
		out, err := tg.Expand(url.PathEscape(rest), url.QueryEscape(query), "u")
		if err != nil {
			return // a template may refuse its input; never panic
		}
		l := strings.ToLower(out)
		if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			t.Fatalf("target %q expanded to %q, not http(s)", raw, out)
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
		got, err := tg.Expand(rest, query, "")
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
