package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// The daily click counts: what the flusher's AddClicks adds to them, how
// they are read, pruned and sorted by, and the stale-links filter.

func clicksTests() []struct {
	name string
	fn   func(t *testing.T, s links.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s links.Store)
	}{
		{"DailyClicks", testDailyClicks},
		{"DailyClicksLargeBatch", testDailyClicksLargeBatch},
		{"DailyClicksConcurrent", testDailyClicksConcurrent},
		{"SetDailyClicks", testSetDailyClicks},
		{"PruneClicks", testPruneClicks},
		{"ListByRecentClicks", testListByRecentClicks},
		{"ListUnused", testListUnused},
	}
}

func dailyOf(t *testing.T, s links.Store, id int64, from, to links.Day) []links.DayClicks {
	t.Helper()
	got, err := s.DailyClicks(context.Background(), id, from, to)
	if err != nil {
		t.Fatalf("DailyClicks: %v", err)
	}
	return got
}

func testDailyClicks(t *testing.T, s links.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, mk("a", "https://a.example"))
	b := mustCreate(t, s, mk("b", "https://b.example"))
	day := links.DayOf(t0)
	midnight := day.Time().Add(24 * time.Hour)
	flush := func(cs ...links.Click) {
		t.Helper()
		if err := s.AddClicks(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	// Each count goes to the UTC day of its time: the last second of a
	// day and the first of the next are two days.
	flush(links.Click{Key: "a", N: 2, Last: t0}, links.Click{Key: "b", N: 1, Last: t0}, links.Click{Key: "gone", N: 7, Last: t0})
	flush(links.Click{Key: "a", N: 3, Last: midnight.Add(-time.Microsecond)})
	flush(links.Click{Key: "a", N: 4, Last: midnight})
	flush(links.Click{Key: "a", N: 5, Last: midnight.Add(49 * time.Hour)})
	got := dailyOf(t, s, a.ID, day-10, day+10)
	want := []links.DayClicks{{Day: day, Clicks: 5}, {Day: day + 1, Clicks: 4}, {Day: day + 3, Clicks: 5}}
	if !slices.Equal(got, want) {
		t.Fatalf("a's days = %v, want %v", got, want)
	}
	// The range is inclusive at both ends, and per link.
	if got := dailyOf(t, s, a.ID, day+1, day+1); !slices.Equal(got, want[1:2]) {
		t.Fatalf("a's day+1 = %v, want %v", got, want[1:2])
	}
	if got := dailyOf(t, s, b.ID, day-10, day+10); !slices.Equal(got, []links.DayClicks{{Day: day, Clicks: 1}}) {
		t.Fatalf("b's days = %v", got)
	}
	if got := dailyOf(t, s, 1<<40, day-10, day+10); len(got) != 0 {
		t.Fatalf("no such link: %v", got)
	}
	// The totals still add up, as before.
	if got, _ := s.Get(ctx, "a"); got.Clicks != 14 {
		t.Fatalf("a's total = %d, want 14", got.Clicks)
	}
	// A renamed link keeps its days (they follow its ID).
	r := a
	r.Name, r.Key = "renamed", "renamed"
	if _, _, err := s.Update(ctx, "a", r); err != nil {
		t.Fatal(err)
	}
	flush(links.Click{Key: "renamed", N: 1, Last: t0})
	if got := dailyOf(t, s, a.ID, day, day); !slices.Equal(got, []links.DayClicks{{Day: day, Clicks: 6}}) {
		t.Fatalf("renamed link's day = %v, want 6 clicks", got)
	}
	// A day saturates at MaxClicks rather than overflowing.
	flush(links.Click{Key: "b", N: links.MaxClicks, Last: t0})
	flush(links.Click{Key: "b", N: links.MaxClicks, Last: t0})
	if got := dailyOf(t, s, b.ID, day, day); !slices.Equal(got, []links.DayClicks{{Day: day, Clicks: links.MaxClicks}}) {
		t.Fatalf("saturated day = %v", got)
	}
}

// A flush of more links than one statement carries writes every day.
func testDailyClicksLargeBatch(t *testing.T, s links.Store) {
	ctx := context.Background()
	const n = 2500
	ls := make([]links.Link, n)
	for i := range ls {
		ls[i] = mk(fmt.Sprintf("l%05d", i), "https://x.example")
	}
	if err := s.Import(ctx, links.All(ls), links.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	cs := make([]links.Click, n)
	for i := range cs {
		cs[i] = links.Click{Key: ls[i].Key, N: int64(i%7 + 1), Last: t0}
	}
	if err := s.AddClicks(ctx, cs); err != nil {
		t.Fatal(err)
	}
	day := links.DayOf(t0)
	for _, i := range []int{0, 999, 1000, 2001, n - 1} {
		l, err := s.Get(ctx, ls[i].Key)
		if err != nil {
			t.Fatal(err)
		}
		if got := dailyOf(t, s, l.ID, day, day); !slices.Equal(got, []links.DayClicks{{Day: day, Clicks: int64(i%7 + 1)}}) {
			t.Fatalf("link %d: %v, want %d clicks", i, got, i%7+1)
		}
	}
}

// Concurrent flushes (as from several replicas) add up in the day too.
func testDailyClicksConcurrent(t *testing.T, s links.Store) {
	ctx := context.Background()
	hot := mustCreate(t, s, mk("hot", "https://a.example"))
	mustCreate(t, s, mk("warm", "https://b.example"))
	const workers, rounds = 4, 20
	errs := make(chan error, workers*rounds)
	for range workers {
		go func() {
			for range rounds {
				errs <- s.AddClicks(ctx, []links.Click{{Key: "warm", N: 1, Last: t0}, {Key: "hot", N: 2, Last: t0}})
			}
		}()
	}
	for range workers * rounds {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	day := links.DayOf(t0)
	if got := dailyOf(t, s, hot.ID, day, day); !slices.Equal(got, []links.DayClicks{{Day: day, Clicks: workers * rounds * 2}}) {
		t.Fatalf("hot's day = %v, want %d", got, workers*rounds*2)
	}
}

// An import's days replace what those days held, and leave the others;
// flushes then add to them as to any day.
func testSetDailyClicks(t *testing.T, s links.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, mk("a", "https://a.example"))
	day := links.DayOf(t0)
	if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 5, Last: t0}, {Key: "a", N: 0, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 2, Last: (day - 1).Time()}}); err != nil {
		t.Fatal(err)
	}
	many := make([]links.LinkDayClicks, 0, 1500) // more than one statement's worth
	for i := range 1500 {
		many = append(many, links.LinkDayClicks{LinkID: a.ID, DayClicks: links.DayClicks{Day: day - 2000 + links.Day(i), Clicks: int64(i % 3)}})
	}
	many = append(many, links.LinkDayClicks{LinkID: a.ID, DayClicks: links.DayClicks{Day: day, Clicks: 9}})
	if err := s.SetDailyClicks(ctx, many); err != nil {
		t.Fatal(err)
	}
	if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: 1, Last: t0}}); err != nil {
		t.Fatal(err)
	}
	want := []links.DayClicks{{Day: day - 1, Clicks: 2}, {Day: day, Clicks: 10}}
	if got := dailyOf(t, s, a.ID, day-1, day); !slices.Equal(got, want) {
		t.Fatalf("days = %v, want %v", got, want)
	}
	if got := dailyOf(t, s, a.ID, day-2000, day-2000+2); !slices.Equal(got, []links.DayClicks{{Day: day - 2000, Clicks: 0}, {Day: day - 1999, Clicks: 1}, {Day: day - 1998, Clicks: 2}}) {
		t.Fatalf("imported days = %v", got)
	}
	if got := dailyOf(t, s, a.ID, day-2000+1499, day-2000+1499); len(got) != 1 {
		t.Fatalf("the last chunk's day = %v", got)
	}
	if err := s.SetDailyClicks(ctx, nil); err != nil {
		t.Fatalf("empty SetDailyClicks: %v", err)
	}
}

func testPruneClicks(t *testing.T, s links.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, mk("a", "https://a.example"))
	day := links.DayOf(t0)
	for i := range 5 {
		if err := s.AddClicks(ctx, []links.Click{{Key: "a", N: int64(i + 1), Last: (day + links.Day(i)).Time()}}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneClicks(ctx, day+2)
	if err != nil || n != 2 {
		t.Fatalf("PruneClicks = %d, %v; want 2 rows", n, err)
	}
	want := []links.DayClicks{{Day: day + 2, Clicks: 3}, {Day: day + 3, Clicks: 4}, {Day: day + 4, Clicks: 5}}
	if got := dailyOf(t, s, a.ID, day-1, day+9); !slices.Equal(got, want) {
		t.Fatalf("after pruning: %v, want %v", got, want)
	}
	// The totals are not history: pruning leaves them.
	if got, _ := s.Get(ctx, "a"); got.Clicks != 15 {
		t.Fatalf("total after pruning = %d, want 15", got.Clicks)
	}
	if n, err := s.PruneClicks(ctx, day+2); err != nil || n != 0 {
		t.Fatalf("second prune = %d, %v", n, err)
	}
}

func testListByRecentClicks(t *testing.T, s links.Store) {
	ctx := context.Background()
	today := links.DayOf(t0)
	for _, n := range []string{"old", "quiet", "busy", "steady", "tie"} {
		mustCreate(t, s, mk(n, "https://x.example"))
	}
	add := func(key string, n int64, d links.Day) {
		t.Helper()
		if err := s.AddClicks(ctx, []links.Click{{Key: key, N: n, Last: d.Time().Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	add("old", 100, today-links.RecentDays) // a day before the window: not counted
	add("old", 1, today-links.RecentDays+1) // its first day
	add("busy", 9, today)
	add("steady", 3, today-5)
	add("steady", 4, today-20)
	add("tie", 7, today-1)
	add("busy", 50, today+1) // after Today: not counted
	opt := links.ListOptions{Sort: links.SortRecentClicks, Today: today}
	ls, err := s.List(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	type kn struct {
		Key string
		N   int64
	}
	var got []kn
	for _, l := range ls {
		got = append(got, kn{l.Key, l.RecentClicks})
	}
	want := []kn{{"busy", 9}, {"steady", 7}, {"tie", 7}, {"old", 1}, {"quiet", 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("by recent clicks: %v, want %v", got, want)
	}
	// Pages of two follow the same order, by cursor.
	var paged []kn
	opt.Limit = 2
	for range 5 {
		ls, err := s.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			paged = append(paged, kn{l.Key, l.RecentClicks})
		}
		if len(ls) < 2 {
			break
		}
		c := links.CursorAfter(opt.Sort, ls[len(ls)-1])
		opt.After = &c
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged: %v, want %v", paged, want)
	}
	// With a filter, and counted like any listing.
	ls, err = s.List(ctx, links.ListOptions{Sort: links.SortRecentClicks, Today: today, Query: "y"})
	if err != nil || len(ls) != 2 || ls[0].Key != "busy" || ls[1].Key != "steady" {
		t.Fatalf("filtered: %v, %v", ls, err)
	}
}

func testListUnused(t *testing.T, s links.Store) {
	ctx := context.Background()
	now := t0
	cut := now.Add(-links.StaleAfter)
	old := func(name string, created time.Time) {
		l := mk(name, "https://x.example")
		l.CreatedAt, l.UpdatedAt = created, created
		mustCreate(t, s, l)
	}
	old("never-old", cut.Add(-time.Hour)) // never clicked, created long ago: stale
	old("never-new", cut.Add(time.Hour))  // never clicked, but new: not yet
	old("used-long-ago", cut.Add(-48*time.Hour))
	old("used-lately", cut.Add(-48*time.Hour))
	if err := s.AddClicks(ctx, []links.Click{
		{Key: "usedlongago", N: 1, Last: cut.Add(-time.Hour)},
		{Key: "usedlately", N: 1, Last: cut.Add(time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	opt := links.ListOptions{UnusedBefore: cut}
	ls, err := s.List(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range ls {
		keys = append(keys, l.Key)
	}
	if want := []string{"neverold", "usedlongago"}; !slices.Equal(keys, want) {
		t.Fatalf("unused: %v, want %v", keys, want)
	}
	if n, err := s.Count(ctx, opt); err != nil || n != 2 {
		t.Fatalf("Count unused = %d, %v", n, err)
	}
}
