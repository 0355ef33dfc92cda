package links_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// An import's alias lines are checked once every line is read: a target
// in the file (in any order, through chains) or stored is fine; one that
// is nowhere, or a cycle, is a bad line listed with the others, in line
// order. golink's /NAME targets are aliases; its other relative targets
// are bad lines.
func TestScanNDJSONAliases(t *testing.T) {
	stored := map[string]string{"kept": "", "storedalias": "kept"}
	lookup := func(key string) (string, bool, error) {
		of, ok := stored[key]
		return of, ok, nil
	}
	for _, tt := range []struct {
		name, in string
		bad      []string // "LINE: a part of the reason"
		aliases  map[string]string
	}{
		{"target later in the file", `{"name":"a","alias_of":"b"}
{"name":"b","url":"https://b.example"}`, nil, map[string]string{"a": "b"}},
		{"chain in the file", `{"name":"a","alias_of":"b"}
{"name":"b","alias_of":"c"}
{"name":"c","url":"https://c.example"}`, nil, map[string]string{"a": "b", "b": "c"}},
		{"stored target and stored alias", `{"name":"a","alias_of":"kept"}
{"name":"b","alias_of":"StoredAlias"}`, nil, map[string]string{"a": "kept", "b": "StoredAlias"}},
		{"missing, with another bad line", `{"name":"x","alias_of":"nowhere"}
{"name":"a b","url":"https://x.example"}
{"name":"y","alias_of":"z"}
{"name":"z","alias_of":"gone"}`, []string{"1: go/x is an alias of go/nowhere, which is neither in this file nor stored", "2: contains a space",
			"3: go/y is an alias of go/z, an alias of go/gone, which is neither", "4: go/z is an alias of go/gone, which is neither"}, nil},
		{"cycle", `{"name":"a","alias_of":"b"}
{"name":"b","alias_of":"a"}`, []string{"1: lead round in a circle", "2: lead round in a circle"}, nil},
		{"alias with a URL", `{"name":"a","url":"https://a.example","alias_of":"kept"}`, []string{"1: has no URL of its own"}, nil},
		{"golink alias forms", `{"Short":"a","Long":"/kept"}
{"Short":"b","Long":"/Kept/"}`, nil, map[string]string{"a": "kept", "b": "Kept"}},
		{"golink's other relative targets", `{"Short":"a","Long":"/kept/sub"}
{"Short":"b","Long":"/kept?x=1"}
{"Short":"c","Long":"/{{.Path}}"}
{"Short":"d","Long":"/"}
{"Short":"e","Long":"//host.example/x"}`, []string{"1: relative target", "2: relative target", "3: relative target", "4: relative target", "5: url"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			var err error
			for l, e := range links.ScanNDJSONWith(strings.NewReader(tt.in), time.Now(), nil, lookup) {
				if e != nil {
					err = e
					break
				}
				if l.IsAlias() {
					got[l.Key] = l.AliasOf
				}
			}
			var le *links.LineErrors
			if tt.bad == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if len(got) != len(tt.aliases) {
					t.Fatalf("aliases %v, want %v", got, tt.aliases)
				}
				for k, v := range tt.aliases {
					if got[k] != v {
						t.Fatalf("aliases %v, want %v", got, tt.aliases)
					}
				}
				return
			}
			if !errors.As(err, &le) || le.Total != len(tt.bad) {
				t.Fatalf("error %v, want %d bad lines", err, len(tt.bad))
			}
			for i, want := range tt.bad {
				line, part, _ := strings.Cut(want, ": ")
				if got := le.Lines[i]; line != strconv.Itoa(got.Line) || !strings.Contains(got.Reason, part) {
					t.Errorf("bad line %d = %d %q, want %s %q", i, got.Line, got.Reason, line, part)
				}
			}
		})
	}
}
