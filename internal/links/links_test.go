package links

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"docs": "docs", "Docs": "docs", "Foo-Bar": "foobar", "foo--bar-": "foobar",
		"a_b.c": "a_b.c", "ABC-123": "abc123", "": "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// Lookups normalise on every request: a name that is already its key costs
// nothing, any other one the key's string.
func TestNormalizeAllocations(t *testing.T) {
	for name, want := range map[string]float64{"docs": 0, "Foo-Bar": 1, strings.Repeat("Ab", 60): 2} {
		var key string
		if got := testing.AllocsPerRun(100, func() { key = Normalize(name) }); got != want {
			t.Errorf("Normalize(%.20q...) allocates %v times, want %v", name, got, want)
		}
		_ = key
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		msg  string
	}{
		{"docs", true, ""},
		{"Foo-Bar_1.2", true, ""},
		{"9lives", true, ""},
		{strings.Repeat("a", 100), true, ""},
		{strings.Repeat("a", 101), false, "limit is 100"},
		{"", false, "required"},
		{"-docs", false, "start with a letter, digit or '_'"},
		{"_docs", true, ""}, // golink accepts it: ^\w[\w\-\.]*$
		{"_", true, ""},
		{"docs.", true, ""},
		{".docs", false, "start with a letter, digit or '_'"},
		{"a b", false, "contains"},
		{"a/b", false, "contains"},
		{"ünï", false, "start with"},
		{"api", true, ""}, // only /api/v1/ is the API
		{"API", true, ""},
		{"healthz", false, "reserved"},
		{"ready-z", false, "reserved"}, // normalises to readyz
		{"metrics", false, "reserved"},
		{"-", false, "start with"},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if err != nil {
			if ErrorCode(err) != Invalid || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ValidateName(%q) = %v (%s), want Invalid containing %q", tt.name, err, ErrorCode(err), tt.msg)
			}
		}
	}
}

func TestParseTargetRefuses(t *testing.T) {
	tests := []struct{ url, msg string }{
		{"", "required"},
		{"javascript:alert(1)", `scheme "javascript" is not allowed`},
		{"JavaScript:alert(1)", "not allowed"},
		{"data:text/html,hi", "not allowed"},
		{"file:///etc/passwd", "not allowed"},
		{"ftp://x.example/", "not allowed"},
		{"/relative/path", "relative"},
		{"example.com/x", "relative"},
		{"https://", "no host"},
		{"http://[::1", "malformed"},
		{"https://a.example/ b", "spaces"},
		{"https://a.example/" + strings.Repeat("x", MaxURLLen), "limit is 8192"},
		{"https://x.example/{{.Nope}}", "does not run"},
		{"https://x.example/{{.Path", "does not parse"},
		{"{{.Path}}", "not an absolute"},
		{"https://x.example/{{range 1000000000}}{{end}}", "may not use range"},
		{`{{define "x"}}y{{end}}https://x.example/{{template "x"}}`, "may not define"},
		{`https://x.example/{{template "url"}}`, "may not call"},
		{`https://x.example/{{block "b" .}}y{{end}}`, "may not define"},
		{"{{if .Path}}https://x.example{{end}}", "not an absolute"},
	}
	for _, tt := range tests {
		_, err := ValidateTarget(tt.url)
		if err == nil {
			t.Errorf("ValidateTarget(%.40q) accepted", tt.url)
			continue
		}
		if ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), tt.msg) {
			t.Errorf("ValidateTarget(%.40q) = %q, want Invalid containing %q", tt.url, ErrorMessage(err), tt.msg)
		}
	}
}

// ParseTarget, which the index runs on every stored link at start-up,
// never executes a template: what only running it shows is left to
// ValidateTarget, at save time.
func TestParseTargetDoesNotExecute(t *testing.T) {
	for _, raw := range []string{"https://x.example/{{.Nope}}", "{{.Path}}", "{{if .Path}}https://x.example{{end}}"} {
		if _, err := ParseTarget(raw); err != nil {
			t.Errorf("ParseTarget(%q) = %v; it must only parse", raw, err)
		}
		if _, err := ValidateTarget(raw); err == nil {
			t.Errorf("ValidateTarget(%q) accepted a template that fails when run", raw)
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		target, rest, query, user, want string
	}{
		{"https://x.example/docs", "", "", "", "https://x.example/docs"},
		{"https://x.example/docs", "/a/b", "", "", "https://x.example/docs/a/b"},
		{"https://x.example/docs/", "/a/b", "", "", "https://x.example/docs/a/b"},
		{"https://x.example/docs/", "", "x=1", "", "https://x.example/docs/?x=1"},
		{"https://x.example", "/a", "", "", "https://x.example/a"},
		// golink appends the rest to the target's text: after a query it is
		// part of the query, after a fragment part of the fragment.
		{"https://x.example/s?q=go", "/more", "", "", "https://x.example/s?q=go/more"},
		{"https://x.example/s?q=go", "/more", "x=1&y=2", "", "https://x.example/s?q=go%2Fmore&x=1&y=2"},
		{"https://x.example/s?q=go", "", "", "", "https://x.example/s?q=go"},
		{"https://x.example/p#frag", "/a", "x=1", "", "https://x.example/p?x=1#frag/a"},
		{"https://x.example/#/app", "/page", "", "", "https://x.example/#/app/page"},
		// A trailing slash after the name adds nothing, as in golink.
		{"https://x.example/docs", "/", "", "", "https://x.example/docs"},
		// The request's query is merged and re-encoded as url.Values.Encode
		// does: sorted by key, the target's values first.
		{"https://x.example/s?b=1&a=2", "", "c=3", "", "https://x.example/s?a=2&b=1&c=3"},
		{"https://x.example/s?a=1", "", "a=2&b=2", "", "https://x.example/s?a=1&a=2&b=2"},
		{"https://x.example/s", "", "z=1&a=2", "", "https://x.example/s?a=2&z=1"},
		{"https://x.example/s", "", "q=a%20b", "", "https://x.example/s?q=a+b"},
		{"https://x.example/s", "", "q=a+b&x", "", "https://x.example/s?q=a+b&x="},
		{"https://x.example/s", "", "q=a%2Fb", "", "https://x.example/s?q=a%2Fb"},
		{"https://x.example/s?keep", "", "&", "", "https://x.example/s?keep"}, // no pairs: nothing merged
		{"https://x.example/s#", "/a", "", "", "https://x.example/s#/a"},      // an empty fragment takes the rest
		{"https://x.example/a|b", "", "", "", "https://x.example/a%7Cb"},      // url.URL.String's escaping
		// Templates get the query merged too, unless they place .Query.
		{"https://x.example/{{.Path}}?a=1", "/p", "b=2", "", "https://x.example/p?a=1&b=2"},
		{"https://x.example/p", "/a%2Fb", "", "", "https://x.example/p/a%2Fb"},
		{"HTTPS://X.example/p", "/a", "", "", "https://X.example/p/a"},
		{"https://github.com/search?q={{QueryEscape .Path}}", "/a b", "", "", "https://github.com/search?q=a+b"},
		{"https://x.example/{{PathEscape .Path}}", "/a/b", "", "", "https://x.example/a%2Fb"},
		{"https://x.example/u/{{.User}}?{{.Query}}", "", "k=v", "me@x", "https://x.example/u/me@x?k=v"},
		{"https://x.example/{{if .Path}}p/{{.Path}}{{else}}home{{end}}", "", "", "", "https://x.example/home"},
		// .Path is unescaped once, whatever the request escaped, and the
		// escaping functions escape it once.
		{"https://x.example/s?q={{QueryEscape .Path}}", "/a%3Fb", "", "", "https://x.example/s?q=a%3Fb"},
		{"https://x.example/s?q={{QueryEscape .Path}}", "/a%2Fb", "", "", "https://x.example/s?q=a%2Fb"},
		{"https://x.example/s?q={{QueryEscape .Path}}", "/a%20b", "", "", "https://x.example/s?q=a+b"},
		// An unescaped .Path is re-encoded: no raw space reaches Location.
		{"https://x.example/{{.Path}}", "/a%20b", "", "", "https://x.example/a%20b"},
		// golink's functions.
		{"https://x.example/{{ToLower .Path}}", "/ABC", "", "", "https://x.example/abc"},
		{"https://x.example/{{ToUpper .Path}}", "/abc", "", "", "https://x.example/ABC"},
		{`https://x.example/{{TrimPrefix .Path "p/"}}`, "/p/q", "", "", "https://x.example/q"},
		{`https://x.example/{{TrimSuffix .Path ".git"}}`, "/repo.git", "", "", "https://x.example/repo"},
		{`{{if Match "^[0-9]+$" .Path}}https://bugs.example/{{.Path}}{{else}}https://bugs.example/search?q={{QueryEscape .Path}}{{end}}`, "/123", "", "", "https://bugs.example/123"},
		{`{{if Match "^[0-9]+$" .Path}}https://bugs.example/{{.Path}}{{else}}https://bugs.example/search?q={{QueryEscape .Path}}{{end}}`, "/crash%20on%20start", "", "", "https://bugs.example/search?q=crash+on+start"},
		{"https://x.example/{{.Now.Year}}", "", "", "", "https://x.example/" + strconv.Itoa(time.Now().UTC().Year())},
	}
	for _, tt := range tests {
		tg, err := ParseTarget(tt.target)
		if err != nil {
			t.Fatalf("ParseTarget(%q): %v", tt.target, err)
		}
		got, err := tg.Expand(context.Background(), tt.rest, tt.query, tt.user)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q, %q, %q) on %q = %q, %v; want %q", tt.rest, tt.query, tt.user, tt.target, got, err, tt.want)
		}
	}
}

func TestExpandTemplateRefusesNonHTTP(t *testing.T) {
	tg, err := ParseTarget(`{{if eq .Path "x"}}javascript:alert(1){{else}}https://ok.example{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Expand(context.Background(), "/x", "", ""); err == nil {
		t.Fatal("template expanding to javascript: was accepted")
	}
}

func TestReadNDJSON(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in := `{"name":"docs","url":"https://d.example","description":"D","owner":"a@x","clicks":4,"last_clicked_at":"2025-05-05T00:00:00Z","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-02-01T00:00:00Z"}

{"Short":"gl","Long":"https://golink.example/{{.Path}}","Created":"2023-01-01T00:00:00Z","LastEdit":"2023-06-01T00:00:00Z","Owner":"b@x"}
{"name":"fresh","url":"https://f.example"}
`
	ls, err := ReadNDJSON(strings.NewReader(in), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 {
		t.Fatalf("got %d links", len(ls))
	}
	if l := ls[0]; l.Key != "docs" || l.Clicks != 4 || l.Owner != "a@x" || l.CreatedAt.Year() != 2024 || l.UpdatedAt.Month() != 2 || l.LastClickedAt.Year() != 2025 {
		t.Errorf("own format: %+v", l)
	}
	if l := ls[1]; l.Name != "gl" || l.URL != "https://golink.example/{{.Path}}" || l.Owner != "b@x" || l.CreatedAt.Year() != 2023 || l.UpdatedAt.Month() != 6 {
		t.Errorf("golink format: %+v", l)
	}
	if l := ls[2]; !l.CreatedAt.Equal(now) || !l.UpdatedAt.Equal(now) || !l.LastClickedAt.IsZero() {
		t.Errorf("defaults: %+v", l)
	}
}

func TestReadNDJSONNamesBadLine(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"{\"name\":\"a\",\"url\":\"https://a.example\"}\nnot json\n", "line 2: not a JSON object"},
		{"{\"name\":\"a\",\"url\":\"https://a.example\"}\n\n{\"name\":\"b\",\"url\":\"javascript:x\"}\n", "line 3: url scheme"},
		{"{\"name\":\"healthz\",\"url\":\"https://a.example\"}\n", "line 1: name \"healthz\" is reserved"},
		{"{\"name\":\"a\",\"url\":\"https://a.example\"}\n{\"name\":\"A\",\"url\":\"https://b.example\"}\n", "line 2: name \"A\" repeats line 1"},
		{"{\"name\":\"a\",\"url\":\"https://a.example\",\"clicks\":\"x\"}\n", "line 1: not a JSON object: field \"clicks\""},
		{"{\"name\":\"a\",\"url\":\"https://a.example\",\"clicks\":-1}\n", "line 1: clicks must be from 0 to 1000000000000000, not -1"},
		{"[1,2]\n", "line 1: not a JSON object"},
	}
	for _, tt := range tests {
		_, err := ReadNDJSON(strings.NewReader(tt.in), time.Now(), nil)
		if err == nil || ErrorCode(err) != Invalid || !strings.Contains(ErrorMessage(err), tt.msg) {
			t.Errorf("ReadNDJSON(%q) = %v, want Invalid containing %q", tt.in, err, tt.msg)
		}
	}
}

func TestMergeClicks(t *testing.T) {
	t1 := time.Unix(100, 0)
	t2 := time.Unix(200, 0)
	got := MergeClicks([]Click{{"a", 1, t2}, {"b", 2, t1}, {"a", 3, t1}})
	if len(got) != 2 || got[0].N != 4 || !got[0].Last.Equal(t2) || got[1].N != 2 {
		t.Fatalf("MergeClicks = %+v", got)
	}
}

// A template that uses .User fails for an anonymous request with
// Unauthorized, as golink's does (401); with a user it expands.
func TestExpandUserNeedsIdentity(t *testing.T) {
	tg, err := ParseTarget("https://x.example/u/{{.User}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Expand(context.Background(), "", "", ""); ErrorCode(err) != Unauthorized {
		t.Fatalf("anonymous: %v (code %q), want Unauthorized", err, ErrorCode(err))
	}
	if got, err := tg.Expand(context.Background(), "", "", "me@x"); err != nil || got != "https://x.example/u/me@x" {
		t.Fatalf("signed in: %q, %v", got, err)
	}
	// A template that places .Query itself gets no merged query as well.
	tg, _ = ParseTarget("https://x.example/s?{{.Query}}")
	if got, _ := tg.Expand(context.Background(), "", "a=1", ""); got != "https://x.example/s?a=1" {
		t.Fatalf(".Query template: %q", got)
	}
	tg, _ = ParseTarget("https://x.example/s?{{with $.Query}}{{.}}{{end}}")
	if got, _ := tg.Expand(context.Background(), "", "a=1", ""); got != "https://x.example/s?a=1" {
		t.Fatalf("$.Query template: %q", got)
	}
}

// A plain target with a canonical query and a path costs one allocation:
// the result. (The redirect benchmark counts the whole handler.)
func TestExpandAllocations(t *testing.T) {
	tg, err := ParseTarget("https://example.com/1/docs")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { tg.Expand(context.Background(), "/a/b", "x=1&y=%2F", "") }); n > 1 {
		t.Fatalf("Expand allocates %v times, want 1", n)
	}
}

func TestReadNDJSONReportsEveryBadLine(t *testing.T) {
	in := `{"name":"ok","url":"https://a.example"}
not json
{"name":"b","url":"javascript:x"}

{"name":"OK","url":"https://b.example"}
{"name":"t","url":"https://t.example","tags":["a b","Bad!"]}
` + `{"name":"long","url":"https://a.example/` + strings.Repeat("x", MaxImportLine) + `"}
{"name":"last","url":"ftp://x"}`
	_, err := ReadNDJSON(strings.NewReader(in), time.Now(), nil)
	var le *LineErrors
	if ErrorCode(err) != Invalid || !errors.As(err, &le) {
		t.Fatalf("err = %v, want Invalid wrapping *LineErrors", err)
	}
	var got []string
	for _, l := range le.Lines {
		got = append(got, fmt.Sprintf("%d: %s", l.Line, l.Reason))
	}
	want := []string{"2: not a JSON object", "3: url scheme", "5: name \"OK\" repeats line 1", "6: tag \"bad!\" contains", "7: longer than", "8: url scheme"}
	if len(got) != len(want) || le.Total != len(want) {
		t.Fatalf("bad lines %q (total %d), want %d of them", got, le.Total, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("bad line %d = %q, want %q…", i, got[i], want[i])
		}
	}
	if msg := ErrorMessage(err); !strings.HasPrefix(msg, "6 bad lines, nothing was imported: line 2: ") {
		t.Errorf("message %q", msg)
	}
	// Reported lines are bounded; the count is not.
	many := strings.Repeat("x\n", 250)
	_, err = ReadNDJSON(strings.NewReader(many), time.Now(), nil)
	if !errors.As(err, &le) || len(le.Lines) != 100 || le.Total != 250 || !strings.HasSuffix(ErrorMessage(err), "; and 150 more") {
		t.Fatalf("250 bad lines: %d listed, total %d, message …%s", len(le.Lines), le.Total, ErrorMessage(err)[max(0, len(ErrorMessage(err))-30):])
	}
}

func TestNormalizeTags(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
		err  string
	}{
		{nil, "", ""},
		{[]string{"Infra, team  infra", "a.b_c-d"}, "a.b_c-d infra team", ""},
		{[]string{""}, "", ""},
		{[]string{"-x"}, "", "start with"},
		{[]string{"a/b"}, "", "contains"},
		{[]string{strings.Repeat("t", 33)}, "", "limit is 32"},
		{strings.Fields("a b c d e f g h i j k l m n o p q"), "", "at most 16"},
	} {
		got, err := NormalizeTags(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(ErrorMessage(err), tt.err) {
				t.Errorf("NormalizeTags(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeTags(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if l := TagList(""); l == nil || len(l) != 0 {
		t.Errorf("TagList(\"\") = %#v, want an empty list", l)
	}
}

func TestParseSearch(t *testing.T) {
	o := ParseSearch("  deploy tag:Infra owner:ann@x tag:team docs tag: ")
	if o.Query != "deploy docs tag:" || fmt.Sprint(o.Tags) != "[infra team]" || o.Owner != "ann@x" {
		t.Fatalf("ParseSearch = %+v", o)
	}
}

func TestParseRev(t *testing.T) {
	for s, ok := range map[string]bool{"12.3": true, "1.1": true, "bogus": false, "0.1": false, "1.0": false, "1.2.3": false, "-1.2": false, "": false, "1.": false} {
		r, got := ParseRev(s)
		if got != ok || (ok && r.String() != s) {
			t.Errorf("ParseRev(%q) = %v, %v", s, r, got)
		}
	}
}

// ScanNDJSON streams links into an import only while every line so far
// was good; after a bad line it yields no link but reads on, and its one
// error lists every bad line, so that the import it feeds rolls back and
// still reports them all.
func TestScanNDJSONStreamsUntilTheFirstBadLine(t *testing.T) {
	in := `{"name":"a","url":"https://a.example"}
{"name":"b","url":"https://b.example"}
{"name":"c","url":"ftp://c.example"}
{"name":"d","url":"https://d.example"}
{"name":"A","url":"https://a2.example"}
`
	var got []string
	var errs []error
	for l, err := range ScanNDJSON(strings.NewReader(in), time.Now(), nil) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, l.Key)
	}
	if strings.Join(got, " ") != "a b" {
		t.Errorf("yielded %q, want the links before the first bad line (a b)", got)
	}
	var le *LineErrors
	if len(errs) != 1 || ErrorCode(errs[0]) != Invalid || !errors.As(errs[0], &le) {
		t.Fatalf("errors %v, want one Invalid wrapping *LineErrors", errs)
	}
	if le.Total != 2 || le.Lines[0].Line != 3 || le.Lines[1].Line != 5 || !strings.Contains(le.Lines[1].Reason, "repeats line 1") {
		t.Fatalf("bad lines %+v, want 3 and 5 (a name that repeats line 1, after the first error)", le.Lines)
	}
	// A consumer that stops early stops the scan.
	n := 0
	for range ScanNDJSON(strings.NewReader(in), time.Now(), nil) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d yields after break", n)
	}
}
