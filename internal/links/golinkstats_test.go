package links

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadGolinkStats(t *testing.T) {
	in := "foobar,1700000000,3\r\nFoo-Bar,1700000060,2\r\n%5Funder,1700000000,1\n\nzero,1700000000,0\n"
	got, err := ReadGolinkStats(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	day := DayOf(time.Unix(1700000000, 0))
	want := map[string]ClickTotal{
		"foobar": {5, time.Unix(1700000060, 0).UTC(), []DayClicks{{day, 5}}}, // IDs in any spelling are one link's
		"_under": {1, time.Unix(1700000000, 0).UTC(), []DayClicks{{day, 1}}}, // path-escaped, as golink's linkID writes it
		"zero":   {0, time.Time{}, nil},                                      // rows without clicks are no last click, no day
	}
	if !maps.EqualFunc(got, want, func(a, b ClickTotal) bool {
		return a.Clicks == b.Clicks && a.Last.Equal(b.Last) && slices.Equal(a.Days, b.Days)
	}) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Rows go to the UTC day of their time, summed.
	got, err = ReadGolinkStats(strings.NewReader("a,86399,1\na,86400,2\na,90000,3\na,0,4\n"))
	if err != nil || !slices.Equal(got["a"].Days, []DayClicks{{0, 5}, {1, 5}}) || got["a"].Clicks != 10 {
		t.Fatalf("days: %v, %v", got, err)
	}
	// Sums saturate rather than overflow.
	big := "a,1700000000,1000000000000000\na,1700000001,1000000000000000\n"
	if got, err := ReadGolinkStats(strings.NewReader(big)); err != nil || got["a"].Clicks != MaxClicks {
		t.Fatalf("saturation: %v, %v", got, err)
	}
	_, err = ReadGolinkStats(strings.NewReader("a,-5,1\n%zz,1700000000,1\n,1700000000,1\na,99999999999999,1\na,1700000000,1.5\n" + strings.Repeat("x", 101) + ",1700000000,1\n"))
	if ErrorCode(err) != Invalid || !strings.Contains(err.Error(), "6 bad lines") {
		t.Fatalf("bad lines: %v", err)
	}
	for _, want := range []string{"line 1: time", "line 2: link ID", "line 3: link ID", "line 4: time", "line 5: clicks", "line 6: link ID is 101 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
