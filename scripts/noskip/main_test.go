package main

import (
	"strings"
	"testing"
)

// A real stream's shape: a passing test, a skipped subtest with its
// reason, a failing test whose output is shown, a package without tests,
// and a build error line that is not JSON.
const stream = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"    a_test.go:9: quiet\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOK"}
{"Action":"run","Package":"example.com/a","Test":"TestBin/Postgres"}
{"Action":"output","Package":"example.com/a","Test":"TestBin/Postgres","Output":"=== RUN   TestBin/Postgres\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBin/Postgres","Output":"    pg.go:36: PostgreSQL tests need SIGNPOST_TEST_POSTGRES_URL\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBin/Postgres","Output":"    --- SKIP: TestBin/Postgres (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestBin/Postgres"}
{"Action":"run","Package":"example.com/a","Test":"TestBroken"}
{"Action":"output","Package":"example.com/a","Test":"TestBroken","Output":"=== RUN   TestBroken\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBroken","Output":"    a_test.go:20: got 1, want 2\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBroken","Output":"--- FAIL: TestBroken (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestBroken"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\n"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\texample.com/a\t0.01s\n"}
{"Action":"fail","Package":"example.com/a"}
{"Action":"output","Package":"example.com/b","Output":"?   \texample.com/b\t[no test files]\n"}
{"Action":"skip","Package":"example.com/b"}
# example.com/c
c.go:3:1: syntax error
`

func TestFilter(t *testing.T) {
	var out strings.Builder
	skips, err := filter(strings.NewReader(stream), &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(skips) != 1 || skips[0].name != "example.com/a TestBin/Postgres" || skips[0].reason != "pg.go:36: PostgreSQL tests need SIGNPOST_TEST_POSTGRES_URL" {
		t.Errorf("skips = %+v", skips)
	}
	got := out.String()
	for _, want := range []string{"a_test.go:20: got 1, want 2", "--- FAIL: TestBroken", "FAIL\texample.com/a\t0.01s", "[no test files]", "c.go:3:1: syntax error"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"quiet", "=== RUN   TestOK", "SIGNPOST_TEST_POSTGRES_URL"} {
		if strings.Contains(got, not) {
			t.Errorf("output has %q (only failures and package lines belong there):\n%s", not, got)
		}
	}
}
