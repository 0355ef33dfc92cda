package links

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"
)

// The attacks of issue 9 and their variations: whoever may save a link
// writes code that every redirect through it runs.

// nest wraps body in n levels of a doubling with: each level binds $p to
// two copies of the previous one.
func nest(n int, body string) string {
	s := `{{with $p := printf "%s%s" .Path .Path}}`
	for range n {
		s += `{{with $p := printf "%s%s" $p $p}}`
	}
	return s + body + strings.Repeat("{{end}}", n+1)
}

// The 2.4 KB target that took 29 s and 1.6 GB to save: refused by parsing
// alone, so neither a save nor a start-up ever runs it.
func TestWidthAttackRefusedUnrun(t *testing.T) {
	raw := "https://x.com/{{with $x := printf \"%0999999d\" 0}}" + strings.Repeat("{{$x}}", 400) + "{{end}}"
	for _, tt := range []struct {
		raw, msg string
	}{
		{raw, "width or precision 999999 is too large; the limit is 99"},
		{`https://x.com/{{printf "%.100s" .Path}}`, "width or precision 100 is too large"},
		{`https://x.com/{{printf "%*d" 999999 0}}`, "not *"},
		{`https://x.com/{{printf "%[1]*d" 999999 0}}`, "not *"},
		{`https://x.com/{{printf "%-01000000d" 0}}`, "too large"},
		{`https://x.com/{{printf "%.[2]1000000d" 0 1}}`, "too large"},
	} {
		start := time.Now()
		_, err := ParseTarget(tt.raw)
		if err == nil || ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), tt.msg) {
			t.Errorf("ParseTarget(%.60q) = %v, want Invalid containing %q", tt.raw, err, tt.msg)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("refusing %.60q took %v", tt.raw, d)
		}
	}
	for _, ok := range []string{`https://x.com/{{printf "%05d-%.2f-%x" 7 1.5 .Path}}`, `https://x.com/{{printf "%%999999d"}}`} {
		if _, err := ValidateTarget(ok); err != nil {
			t.Errorf("ValidateTarget(%q) = %v", ok, err)
		}
	}
}

// expandCost expands tg once and reports what it cost.
func expandCost(t *testing.T, tg *Target, rest, query string) (loc string, err error, bytes uint64, took time.Duration) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	loc, err = tg.Expand(context.Background(), rest, query, "u@example.com")
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return loc, err, after.TotalAlloc - before.TotalAlloc, took
}

// Each attack, saved as a valid link, expanded with a hostile request:
// it fails with a clear error, having allocated and run only within the
// bounds.
func TestTemplateAttacksAreBounded(t *testing.T) {
	long := func(n int, s string) string { return "/" + strings.Repeat(s, n/len(s)) }
	manyMatch := strings.Repeat(`{{if Match "(?:a|b|c|aa|ab){40}Z" .Path}}m{{end}}`, 100)
	tests := []struct {
		name, target, rest, query, msg string
	}{
		{"doubling, active only for long paths, 60 KB path",
			"https://x.com/{{if gt (len .Path) 1000}}" + nest(14, "{{$p}}") + "{{end}}", long(60000, "a"), "",
			"path is 60000 bytes long; a template link takes at most 8192"},
		{"doubling, 4 KB path",
			"https://x.com/{{if gt (len .Path) 1000}}" + nest(14, "{{$p}}") + "{{end}}", long(4000, "a"), "",
			"builds a value of 16000 bytes"},
		{"doubling through print",
			"https://x.com/{{if .Path}}{{with $p := print .Path .Path}}{{with $p := print $p $p}}{{with $p := print $p $p}}{{$p}}{{end}}{{end}}{{end}}{{end}}", long(3000, "a"), "",
			"builds a value of"},
		{"doubling through println",
			"https://x.com/{{if gt (len .Path) 100}}{{with $p := println .Path .Path}}{{with $p := println $p $p}}{{$p}}{{end}}{{end}}{{end}}", long(3000, "a"), "",
			"builds a value of"},
		{"format given by the request", "https://x.com/{{if gt (len .Query) 5}}{{printf .Query 0}}{{end}}", "", "%0999999d",
			"too large"},
		{"format repeating one long argument",
			"https://x.com/{{if gt (len .Query) 5}}{{printf .Query .Path}}{{end}}", long(8000, "a"), strings.Repeat("%[1]s", 1000),
			"builds more than 65536 bytes"},
		{"output repeated past 8 KiB", "https://x.com/" + strings.Repeat("{{.Path}}", 400), long(3000, "a"), "",
			"expands to more than 8192 bytes"},
		{"js of a long value", "https://x.com/{{if .Path}}{{js .Path}}{{end}}", long(8000, "<"), "",
			"builds a value of 48000 bytes"},
		{"js of two long values", "https://x.com/{{if .Path}}{{js .Path .Path}}{{end}}", long(8000, "<"), "",
			"builds more than 65536 bytes"},
		{"html of a long value", "https://x.com/{{if .Path}}{{html .Path}}{{end}}", long(4000, `"`), "",
			"builds a value of"},
		{"urlquery of a long value", "https://x.com/{{if .Path}}{{urlquery .Path .Path}}{{end}}", long(4000, "/"), "",
			"builds a value of"},
		{"QueryEscape of a long value", "https://x.com/?q={{QueryEscape .Path}}", long(8000, "/"), "",
			"builds a value of 24000 bytes"},
		{"ToUpper chained", "https://x.com/{{if .Path}}" + strings.Repeat("{{ToUpper .Path}}", 60) + "{{end}}", long(8000, "a"), "",
			"more than"},
		{"index and slice on a long value, written out", "https://x.com/{{if gt (len .Path) 100}}{{index .Path 7999}}" + strings.Repeat("{{slice .Path 0 8000}}", 50) + "{{end}}",
			long(8000, "a"), "", "expands to more than 8192 bytes"},
		{"many Match calls", "https://x.com/" + manyMatch, long(8000, "ab"), "",
			"does more than 262144 steps of work"},
		{"many Match calls, each within the bound", "https://x.com/" + manyMatch, long(1500, "ab"), "",
			"does more than 262144 steps of work"},
		{"Match on a long path", `https://x.com/{{if Match "(?:a|b|c|aa|ab){100}Z" .Path}}y{{end}}`, long(8000, "ab"), "",
			"does more than 262144 steps of work"},
		{"long query", "https://x.com/?{{.Query}}", "", strings.Repeat("q", 10000),
			"query is 10000 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := ValidateTarget(tt.target)
			if err != nil {
				t.Fatalf("ValidateTarget: %v (the attack must pass save-time checks to test the run-time bounds)", err)
			}
			loc, err, bytes, took := expandCost(t, tg, tt.rest, tt.query)
			if err == nil {
				t.Fatalf("expanded to %d bytes: %.80q", len(loc), loc)
			}
			if ErrorCode(err) != TooLarge && ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), tt.msg) {
				t.Errorf("error %q (%s), want one containing %q", ErrorMessage(err), ErrorCode(err), tt.msg)
			}
			// The request itself (up to 60 KB here) is the only thing
			// bigger than the bounds; the expansion adds at most its
			// allocation budget, its output and fmt's scratch space.
			if limit := uint64(len(tt.rest) + len(tt.query) + 4*MaxExpandAlloc); bytes > limit {
				t.Errorf("allocated %d bytes, want at most %d", bytes, limit)
			}
			if took > MaxExpandTime+time.Second {
				t.Errorf("took %v", took)
			}
			if f, ok := tg.LastFailure(); !ok || f.Message != ErrorMessage(err) {
				t.Errorf("LastFailure = %+v, %v; want the error", f, ok)
			}
		})
	}
}

// What the bounds refuse without running: patterns that are not
// constants or too large to run on every redirect, layouts from the
// request, other templates.
func TestTemplateStaticRefusals(t *testing.T) {
	for _, tt := range []struct{ raw, msg string }{
		{`https://x.com/{{if Match "(?:a|b|c|aa|ab){1000}Z" .Path}}y{{end}}`, "too large (4003 instructions; the limit is 500)"},
		{`https://x.com/{{if Match "` + strings.Repeat("a", MaxPatternLen+1) + `" .Path}}y{{end}}`, "1025 bytes long; the limit is 1024"},
		{`https://x.com/{{if Match "(" .Path}}y{{end}}`, "does not compile: missing closing )"},
		{`https://x.com/{{if Match .Query .Path}}y{{end}}`, "constant pattern"},
		{`https://x.com/{{if "x" | Match .Path}}y{{end}}`, "constant pattern"},
		{`https://x.com/{{if .Path | Match}}y{{end}}`, "constant pattern"},
		{`https://x.com/{{with $p := .Query}}{{if Match $p .Path}}y{{end}}{{end}}`, "constant pattern"},
		{`https://x.com/{{if (Match .Query .Path)}}y{{end}}`, "constant pattern"},
		{`https://x.com/{{.Now.Format .Path}}`, "Format takes one constant layout"},
		{`https://x.com/{{.Path | .Now.Format}}`, "Format takes one constant layout"},
		{`https://x.com/{{"2006" | .Now.Format "01"}}`, "Format takes one constant layout"},
		{`https://x.com/{{(.Now.Add 0).Format .Query}}`, "Format takes one constant layout"},
		{`https://x.com/{{with $t := .Now}}{{$t.Format .Path}}{{end}}`, "Format takes one constant layout"},
		{`https://x.com/{{printf "%s" (.Now.Format .Path)}}`, "Format takes one constant layout"},
		{`https://x.com/{{define "x"}}{{.}}{{end}}`, "may not define"},
		{`https://x.com/{{block "x" .}}{{.}}{{end}}`, "may not define"},
		{`https://x.com/{{range .Path}}{{end}}`, "may not use range"},
		{`https://x.com/{{if .Path}}{{else}}{{range .Path}}{{end}}{{end}}`, "may not use range"},
		{`https://x.com/{{with .Path}}{{else with .Query}}{{template "url"}}{{end}}`, "may not call"},
	} {
		_, err := ParseTarget(tt.raw)
		if err == nil || ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), tt.msg) {
			t.Errorf("ParseTarget(%.70q) = %v, want Invalid containing %q", tt.raw, err, tt.msg)
		}
	}
	for _, ok := range []string{
		`https://x.com/{{.Now.Format "2006-01-02"}}`,
		`https://x.com/{{(.Now.AddDate 0 0 1).Format "2006"}}`,
		`https://x.com/{{if Match "^[0-9]+$" .Path}}n{{end}}{{if .Path | Match "^x"}}x{{end}}`,
		`https://x.com/{{.Path}}{{/* a comment */}}`,
	} {
		if _, err := ValidateTarget(ok); err != nil {
			t.Errorf("ValidateTarget(%q) = %v", ok, err)
		}
	}
}

// An expansion stops when its request ends and when its time is up.
func TestExpandStopsWithRequestAndDeadline(t *testing.T) {
	tg, err := ValidateTarget(`https://x.com/{{if Match "^a" .Path}}a{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tg.Expand(ctx, "/abc", "", ""); err == nil || ErrorCode(err) != Unavailable {
		t.Fatalf("Expand with an ended request = %v, want Unavailable", err)
	}
	if _, ok := tg.LastFailure(); ok {
		t.Error("a request that ended was recorded as the link's failure")
	}
	e := &expansion{ctx: context.Background(), deadline: time.Now().Add(-time.Millisecond)}
	if err := e.reserve(0); err == nil || !strings.Contains(ErrorMessage(err), "ran longer than 100ms") {
		t.Fatalf("past its deadline, a call = %v", err)
	}
	if _, err := e.Write([]byte("x")); err == nil {
		t.Fatal("past its deadline, a write succeeded")
	}
	// The pool of runners carries nothing from one expansion to the next.
	if got, err := tg.Expand(context.Background(), "/abc", "", ""); err != nil || got != "https://x.com/a" {
		t.Fatalf("Expand after failures = %q, %v", got, err)
	}
}

// Raw bytes that must not reach a Location header are percent-encoded,
// whether the target or the request brought them.
func TestExpandEncodesLocation(t *testing.T) {
	for _, tt := range []struct{ target, rest, query, want string }{
		{"https://é.example/café?q=ü#frag", "", "", "https://%C3%A9.example/caf%C3%A9?q=%C3%BC#frag"},
		// As golink does, the rest goes after the target's query, and the
		// request's query is merged in and re-encoded, sorted by key.
		{"https://x.example/p?q=ü", "/a", "k=ö", "https://x.example/p?k=%C3%B6&q=%C3%BC%2Fa"},
		{"https://x.example/pü", "/a", "k=ö", "https://x.example/p%C3%BC/a?k=%C3%B6"},
		{"https://x.example/p?q=ü", "", "", "https://x.example/p?q=%C3%BC"},
		{"https://x.example/p", "", "q=a b\x7f", "https://x.example/p?q=a+b%7F"},
		{"https://x.example/?q={{.Query}}", "", "a b=ü", "https://x.example/?q=a%20b=%C3%BC"},
		{"https://x.example/{{.Path}}", "/d%C3%A9j%C3%A0", "", "https://x.example/d%C3%A9j%C3%A0"},
	} {
		tg, err := ValidateTarget(tt.target)
		if err != nil {
			t.Fatalf("%q: %v", tt.target, err)
		}
		got, err := tg.Expand(context.Background(), tt.rest, tt.query, "")
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q, %q) on %q = %q, %v; want %q", tt.rest, tt.query, tt.target, got, err, tt.want)
		}
	}
}

func TestValidateRefusesSpoofing(t *testing.T) {
	base := Link{Name: "docs", Key: "docs", URL: "https://docs.example"}
	for _, tt := range []struct {
		edit func(*Link)
		msg  string
	}{
		{func(l *Link) { l.Description = "pay \u202egnp.exe" }, "description contains the control character U+202E"},
		{func(l *Link) { l.Description = "a\x00b" }, "description contains the control character U+0000"},
		{func(l *Link) { l.Description = "a\nb" }, "U+000A"},
		{func(l *Link) { l.Description = "a\xffb" }, "U+FFFD"},
		{func(l *Link) { l.Owner = "ana\u2066@example.com" }, "owner contains the control character U+2066"},
		{func(l *Link) { l.Owner = "\u200fana" }, "U+200F"},
		{func(l *Link) { l.Owner = strings.Repeat("o", MaxOwnerLen+1) }, "owner is 257 bytes long; the limit is 256"},
		{func(l *Link) { l.URL = "https://x.example/\u202etxt.exe" }, "url contains the invisible control character U+202E"},
	} {
		l := base
		tt.edit(&l)
		_, err := Validate(l)
		if err == nil || ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), tt.msg) {
			t.Errorf("Validate(%+v) = %v, want Invalid containing %q", l, err, tt.msg)
		}
	}
	l := base
	l.Description, l.Owner = "Docs für alle 👩‍💻 (עברית)", "zoë@example.com"
	if _, err := Validate(l); err != nil {
		t.Errorf("Validate refused plain Unicode: %v", err)
	}
}

func TestValidateNameQuotesCharacters(t *testing.T) {
	for name, msg := range map[string]string{
		"café":                         `name "café" contains 'é'`,
		"a\u202eb":                     `contains the invisible character U+202E`,
		"a" + strings.Repeat("é", 59):  "", // 119 bytes but 60 characters: the character is the problem
		strings.Repeat("é", 101):       "name is 101 characters long",
		"ok" + strings.Repeat("x", 99): "name is 101 characters long",
	} {
		err := ValidateName(name)
		if err == nil {
			t.Errorf("ValidateName(%q) accepted", name)
			continue
		}
		if msg == "" {
			msg = `contains 'é'`
		}
		if !strings.Contains(ErrorMessage(err), msg) {
			t.Errorf("ValidateName(%.20q) = %q, want %q", name, ErrorMessage(err), msg)
		}
	}
}

// BenchmarkExpand: what the bounds cost a redirect through a template
// (a pooled runner: no template clone per request).
func BenchmarkExpand(b *testing.B) {
	for _, tt := range []struct{ name, target string }{
		{"plain", "https://x.example/docs"},
		{"template", `https://x.example/{{if Match "^[0-9]+$" .Path}}bug/{{.Path}}{{else}}search?q={{QueryEscape .Path}}{{end}}`},
	} {
		tg, err := ValidateTarget(tt.target)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tg.Expand(ctx, "/12345", "", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Templates are parsed with text/template's parser against funcNames: it
// must name exactly functions text/template knows (its builtins, ours),
// and refuse the rest as text/template does.
func TestTemplateFunctionNames(t *testing.T) {
	ours := (&expansion{}).funcs()
	for name := range funcNames {
		if _, err := template.New("url").Funcs(ours).Parse("{{" + name + "}}"); err != nil && strings.Contains(err.Error(), "not defined") {
			t.Errorf("funcNames has %q, which text/template does not know: %v", name, err)
		}
	}
	raw := "https://x.example/{{nosuch .Path}}"
	_, want := template.New("url").Funcs(ours).Parse(raw)
	_, err := ParseTarget(raw)
	if want == nil || ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), trimTemplateErr(want)) {
		t.Fatalf("ParseTarget(%q) = %v, want Invalid with %q", raw, err, want)
	}
}

// Targets share the runners and lend them their parse trees: expansions
// of different templates at once each get their own template's result.
func TestTemplatesExpandConcurrently(t *testing.T) {
	var targets []*Target
	for i := range 8 {
		tg, err := ValidateTarget(fmt.Sprintf(`https://x.example/%d/{{if Match "^[a-z]+$" .Path}}{{ToUpper .Path}}{{else}}n{{end}}`, i))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				i := (g + j) % len(targets)
				got, err := targets[i].Expand(context.Background(), "/abc", "", "")
				if want := fmt.Sprintf("https://x.example/%d/ABC", i); err != nil || got != want {
					t.Errorf("target %d: %q, %v; want %q", i, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
