package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/web"
)

// clickNow is the clock of these tests: late on 9 March 2026, UTC.
var clickNow = time.Date(2026, 3, 9, 22, 30, 0, 0, time.UTC)

func newClickServer(t *testing.T, historyDays int) *testServer {
	t.Helper()
	return newTestServer(t, false, func(o *web.Options) {
		o.Now = func() time.Time { return clickNow }
		o.ClickHistoryDays = historyDays
	})
}

// addClicks writes n clicks of key on the day back days before today.
func (ts *testServer) addClicks(t *testing.T, key string, n int64, back int) {
	t.Helper()
	at := clickNow.Add(-time.Duration(back) * 24 * time.Hour)
	if err := ts.store.AddClicks(context.Background(), []links.Click{{Key: key, N: n, Last: at}}); err != nil {
		t.Fatal(err)
	}
}

type statsResp struct {
	Name  string `json:"name"`
	Days  int    `json:"days"`
	From  string `json:"from"`
	To    string `json:"to"`
	Total int64  `json:"total"`
	Daily []struct {
		Day    string `json:"day"`
		Clicks int64  `json:"clicks"`
	} `json:"daily"`
}

func TestAPIStats(t *testing.T) {
	ts := newClickServer(t, 400)
	ts.create(t, "Hot-Link", "https://hot.example")
	ts.addClicks(t, "hotlink", 3, 0)
	ts.addClicks(t, "hotlink", 2, 2)
	ts.addClicks(t, "hotlink", 9, 5) // outside days=5
	// Counted, not yet flushed: on today's bar as well.
	e, _ := ts.index.Lookup("hotlink")
	ts.index.Tick(clickNow)
	ts.index.Click(e)

	r := ts.do(t, "GET", "/api/v1/links/hot-link/stats?days=5", "")
	if r.status != 200 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var got statsResp
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	var series []string
	for _, d := range got.Daily {
		series = append(series, d.Day+"="+strconv.FormatInt(d.Clicks, 10))
	}
	want := []string{"2026-03-05=0", "2026-03-06=0", "2026-03-07=2", "2026-03-08=0", "2026-03-09=4"}
	if got.Name != "Hot-Link" || got.Days != 5 || got.From != "2026-03-05" || got.To != "2026-03-09" || got.Total != 6 || !slices.Equal(series, want) {
		t.Fatalf("stats = %+v\nseries %v, want %v", got, series, want)
	}
	// The default is 90 days, zero-filled.
	r = ts.do(t, "GET", "/api/v1/links/hotlink/stats", "")
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
		t.Fatalf("default stats: %d %s", r.status, r.body)
	}
	if got.Days != 90 || len(got.Daily) != 90 || got.Total != 15 || got.From != "2025-12-10" {
		t.Fatalf("default stats: days %d, %d entries, total %d, from %s", got.Days, len(got.Daily), got.Total, got.From)
	}

	for _, tt := range []struct {
		path   string
		status int
		code   links.Code
		msg    string
	}{
		{"/api/v1/links/hotlink/stats?days=0", 400, links.Invalid, "days must be a number from 1 to 400"},
		{"/api/v1/links/hotlink/stats?days=401", 400, links.Invalid, "from 1 to 400"},
		{"/api/v1/links/hotlink/stats?days=x", 400, links.Invalid, "days must be"},
		{"/api/v1/links/hotlink/stats?day=5", 400, links.Invalid, `unknown query parameter "day"`},
		{"/api/v1/links/nope/stats", 404, links.NotFound, "not found"},
	} {
		wantError(t, ts.do(t, "GET", tt.path, ""), tt.status, tt.code, tt.msg)
	}
	r = ts.do(t, "POST", "/api/v1/links/hotlink/stats", "{}")
	wantError(t, r, 405, links.MethodNotAllowed, "GET, HEAD")
}

// The chart's bounds follow CLICK_HISTORY_DAYS: shorter than 90 days, the
// chart and the default series are that short; 0 keeps every day.
func TestStatsFollowClickHistoryDays(t *testing.T) {
	ts := newClickServer(t, 7)
	ts.create(t, "a", "https://a.example")
	var got statsResp
	r := ts.do(t, "GET", "/api/v1/links/a/stats", "")
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Days != 7 {
		t.Fatalf("with 7 days kept: %d %s", r.status, r.body)
	}
	wantError(t, ts.do(t, "GET", "/api/v1/links/a/stats?days=8", ""), 400, links.Invalid, "from 1 to 7")
	all := newClickServer(t, 0)
	all.create(t, "a", "https://a.example")
	if r := all.do(t, "GET", "/api/v1/links/a/stats?days=3660", ""); r.status != 200 {
		t.Fatalf("all days kept, 3660: %d %s", r.status, r.body)
	}
}

var barRE = regexp.MustCompile(`<rect class="chart-bar" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" data-day="([0-9-]+)" data-clicks="(\d+)"><title>([^<]*)</title></rect>`)

// The link page draws the last 90 days: one bar per day with clicks, at
// its day's place, as tall as its share of the busiest day, with a title,
// a description and a summary in words.
func TestLinkPageChart(t *testing.T) {
	ts := newClickServer(t, 400)
	ts.create(t, "hot", "https://hot.example")
	ts.addClicks(t, "hot", 10, 0)  // today: the last of 90 places
	ts.addClicks(t, "hot", 5, 1)   // half as tall
	ts.addClicks(t, "hot", 1, 89)  // the first place, a tenth as tall
	ts.addClicks(t, "hot", 50, 90) // the day before the chart
	r := ts.do(t, "GET", "/-/links/hot", "")
	if r.status != 200 {
		t.Fatalf("link page: %d", r.status)
	}
	svg := r.body[strings.Index(r.body, "<svg"):strings.Index(r.body, "</svg>")]
	for _, want := range []string{
		`role="img" aria-labelledby="chart-title chart-desc"`, `viewBox="0 0 540 60"`,
		`<title id="chart-title">Clicks per day, last 90 days</title>`,
		`<desc id="chart-desc">16 clicks in the last 90 days (2025-12-10 to 2026-03-09, UTC); the busiest day was 2026-03-09 with 10.</desc>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %s:\n%s", want, svg)
		}
	}
	type bar struct {
		x, y, w, h int
		day        string
		clicks     int
		title      string
	}
	var bars []bar
	for _, m := range barRE.FindAllStringSubmatch(svg, -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		bars = append(bars, bar{n(1), n(2), n(3), n(4), m[5], n(6), m[7]})
	}
	want := []bar{
		{0, 54, 4, 6, "2025-12-10", 1, "2025-12-10: 1"},
		{528, 30, 4, 30, "2026-03-08", 5, "2026-03-08: 5"},
		{534, 0, 4, 60, "2026-03-09", 10, "2026-03-09: 10"},
	}
	if !slices.Equal(bars, want) {
		t.Fatalf("bars = %+v\nwant %+v", bars, want)
	}
	if strings.Count(svg, "<rect") != len(want) {
		t.Fatalf("%d rects, want %d", strings.Count(svg, "<rect"), len(want))
	}
	if !strings.Contains(r.body, `<figcaption class="muted">16 clicks in the last 90 days`) {
		t.Errorf("no text summary under the chart")
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
		t.Errorf("the chart needs no script and no inline style (CSP)")
	}

	// A link nobody clicked says so, and draws no bars.
	ts.create(t, "quiet", "https://quiet.example")
	r = ts.do(t, "GET", "/-/links/quiet", "")
	if !strings.Contains(r.body, "No clicks in the last 90 days") || strings.Contains(r.body, `class="chart-bar"`) {
		t.Fatalf("quiet link's chart:\n%s", r.body)
	}
}

type listResp struct {
	Links []struct {
		Name      string `json:"name"`
		Owner     string `json:"owner"`
		Clicks    int64  `json:"clicks"`
		Clicks30d *int64 `json:"clicks_30d"`
	} `json:"links"`
	Total int    `json:"total"`
	Next  string `json:"next"`
}

func TestListByRecentClicks(t *testing.T) {
	ts := newClickServer(t, 400)
	for _, n := range []string{"alltime", "lately", "never"} {
		ts.create(t, n, "https://"+n+".example")
	}
	ts.addClicks(t, "alltime", 1000, 40) // many clicks, but long ago
	ts.addClicks(t, "alltime", 1, 3)
	ts.addClicks(t, "lately", 20, 29) // the window's first day
	ts.addClicks(t, "lately", 5, 0)
	var got listResp
	r := ts.do(t, "GET", "/api/v1/links?sort=clicks_30d", "")
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var names []string
	for _, l := range got.Links {
		if l.Clicks30d == nil {
			t.Fatalf("%s has no clicks_30d: %s", l.Name, r.body)
		}
		names = append(names, l.Name+"="+strconv.FormatInt(*l.Clicks30d, 10))
	}
	if want := []string{"lately=25", "alltime=1", "never=0"}; !slices.Equal(names, want) {
		t.Fatalf("by clicks_30d: %v, want %v", names, want)
	}
	// Paged by cursor, in the same order.
	r = ts.do(t, "GET", "/api/v1/links?sort=clicks_30d&limit=2", "")
	json.Unmarshal([]byte(r.body), &got)
	if len(got.Links) != 2 || got.Next == "" || got.Total != 3 {
		t.Fatalf("first page: %s", r.body)
	}
	r = ts.do(t, "GET", "/api/v1/links?sort=clicks_30d&limit=2&cursor="+got.Next, "")
	got = listResp{}
	json.Unmarshal([]byte(r.body), &got)
	if len(got.Links) != 1 || got.Links[0].Name != "never" || got.Next != "" {
		t.Fatalf("second page: %s", r.body)
	}
	// Other sorts carry no clicks_30d.
	r = ts.do(t, "GET", "/api/v1/links?sort=clicks", "")
	if strings.Contains(r.body, "clicks_30d") {
		t.Fatalf("clicks_30d outside its sort: %s", r.body)
	}
	// The directory sorts by it too, with a column of its own.
	r = ts.do(t, "GET", "/-/links?sort=clicks_30d", "")
	if r.status != 200 || !strings.Contains(r.body, `<th scope="col" class="num">Clicks in 30 days</th>`) ||
		strings.Index(r.body, "go/lately") > strings.Index(r.body, "go/alltime") {
		t.Fatalf("directory by clicks_30d:\n%s", r.body)
	}
	if r := ts.do(t, "GET", "/-/links?sort=clicks", ""); strings.Contains(r.body, "Clicks in 30 days</th>") {
		t.Fatalf("the 30-day column outside its sort")
	}
}

// The stale links: unused for 180 days, never clicked counting as unused
// once the link is that old; with their owners; in the API, the directory
// and /-/stale.
func TestStaleLinks(t *testing.T) {
	ts := newClickServer(t, 400)
	ctx := context.Background()
	mk := func(name, owner string, age time.Duration) {
		at := clickNow.Add(-age)
		if _, _, err := ts.store.Create(ctx, links.Link{Name: name, Key: links.Normalize(name), URL: "https://x.example", Owner: owner, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	mk("forgotten", "alice@example.com", 400*day) // clicked 200 days ago
	mk("unclicked", "bob@example.com", 181*day)   // never clicked, old
	mk("fresh", "carol@example.com", 10*day)      // never clicked, new
	mk("used", "dan@example.com", 400*day)        // clicked lately
	ts.addClicks(t, "forgotten", 4, 200)
	ts.addClicks(t, "used", 1, 179)

	var got listResp
	r := ts.do(t, "GET", "/api/v1/links?stale=true", "")
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 200 {
		t.Fatalf("stale: %d %s", r.status, r.body)
	}
	var names []string
	for _, l := range got.Links {
		names = append(names, l.Name+"/"+l.Owner)
	}
	if want := []string{"forgotten/alice@example.com", "unclicked/bob@example.com"}; !slices.Equal(names, want) || got.Total != 2 {
		t.Fatalf("stale: %v (total %d), want %v", names, got.Total, want)
	}
	// Filters combine, and pages keep the filter.
	r = ts.do(t, "GET", "/api/v1/links?stale=true&limit=1&owner=alice@example.com", "")
	json.Unmarshal([]byte(r.body), &got)
	if len(got.Links) != 1 || got.Total != 1 || got.Links[0].Name != "forgotten" {
		t.Fatalf("stale by owner: %s", r.body)
	}
	r = ts.do(t, "GET", "/api/v1/links?stale=true&limit=1", "")
	json.Unmarshal([]byte(r.body), &got)
	wantError(t, ts.do(t, "GET", "/api/v1/links?limit=1&cursor="+got.Next, ""), 400, links.Invalid, "other filters")
	wantError(t, ts.do(t, "GET", "/api/v1/links?stale=maybe", ""), 400, links.Invalid, "stale must be true or false")

	// /-/stale is the directory's filter, linked from the directory.
	if r := ts.do(t, "GET", "/-/links", ""); !strings.Contains(r.body, `<a href="/-/stale" id="stale-link">Stale links</a>`) {
		t.Fatalf("directory has no link to the stale links")
	}
	r = ts.do(t, "GET", "/-/stale", "")
	if r.status != http.StatusFound || r.header.Get("Location") != "/-/links?stale=true" {
		t.Fatalf("/-/stale: %d %s", r.status, r.header.Get("Location"))
	}
	r = ts.do(t, "GET", "/-/links?stale=true", "")
	for _, want := range []string{"<h1>Stale links</h1>", "go/forgotten", "alice@example.com", "go/unclicked", "bob@example.com", "2 stale links", `id="d-stale" checked`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("stale page lacks %q", want)
		}
	}
	for _, no := range []string{"go/fresh", "go/used"} {
		if strings.Contains(r.body, no) {
			t.Errorf("stale page lists %s", no)
		}
	}
	// Its sort links keep the filter.
	if !strings.Contains(r.body, "sort=clicks&amp;stale=true") {
		t.Errorf("sort links drop the stale filter")
	}
}
