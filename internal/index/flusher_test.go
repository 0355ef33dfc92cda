package index_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
)

// Days roll over at UTC midnight: clicks counted before it go to the day
// that ended, those after it to the new one, however the flush interval
// falls. The clock is the one Flusher.Tick is given (no sleeps).
func TestFlushDaysRollOverAtUTCMidnight(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, n := range []string{"a", "b"} {
		if _, _, err := s.Create(ctx, link(n, "https://"+n+".example")); err != nil {
			t.Fatal(err)
		}
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	f := &index.Flusher{Index: ix, Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	click := func(key string, n int) {
		e, ok := ix.Lookup(key)
		if !ok {
			t.Fatalf("no %s", key)
		}
		for range n {
			ix.Click(e)
		}
	}
	// Late in a day in UTC (and already the next day in Tokyo: the day is
	// UTC's).
	day := links.DayOf(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	midnight := (day + 1).Time()
	f.Tick(ctx, midnight.Add(-2*time.Second).In(time.FixedZone("JST", 9*3600)))
	click("a", 3)
	click("b", 1)
	f.Tick(ctx, midnight.Add(-time.Second))
	click("a", 2)
	// The tick that crosses midnight flushes the day's counts first
	// (no flush interval had come round yet).
	f.Tick(ctx, midnight)
	if n := ix.PendingClicks(); n != 0 {
		t.Fatalf("pending after the midnight tick = %d, want 0", n)
	}
	click("a", 4)
	f.Tick(ctx, midnight.Add(time.Second))
	click("b", 5)
	// A flush interval later, in the new day.
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string][]links.DayClicks{
		"a": {{Day: day, Clicks: 5}, {Day: day + 1, Clicks: 4}},
		"b": {{Day: day, Clicks: 1}, {Day: day + 1, Clicks: 5}},
	}
	for key, w := range want {
		l, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.DailyClicks(ctx, l.ID, day-1, day+2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: days %v, want %v", key, got, w)
		}
		var total int64
		for _, d := range w {
			total += d.Clicks
		}
		if l.Clicks != total {
			t.Errorf("%s: total %d, want %d", key, l.Clicks, total)
		}
	}
	// Ticks within a day flush nothing.
	click("a", 1)
	f.Tick(ctx, midnight.Add(time.Hour))
	if n := ix.PendingClicks(); n != 1 {
		t.Fatalf("a tick within the day flushed: pending %d, want 1", n)
	}
}

// A midnight flush that fails keeps its counts on the day they were
// counted on: the next flush, on the new day, still writes them there.
func TestFailedMidnightFlushKeepsTheDay(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.Create(ctx, link("a", "https://a.example")); err != nil {
		t.Fatal(err)
	}
	ix := index.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := ix.Load(ctx, s); err != nil {
		t.Fatal(err)
	}
	f := &index.Flusher{Index: ix, Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	day := links.DayOf(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	midnight := (day + 1).Time()
	f.Tick(ctx, midnight.Add(-time.Second))
	e, _ := ix.Lookup("a")
	ix.Click(e)
	ix.Click(e)
	dead, cancel := context.WithCancel(ctx)
	cancel()
	f.Tick(dead, midnight) // the flush fails: the store is not reachable
	if n := ix.PendingClicks(); n != 2 {
		t.Fatalf("pending after a failed flush = %d, want 2", n)
	}
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l, _ := s.Get(ctx, "a")
	got, _ := s.DailyClicks(ctx, l.ID, day-1, day+2)
	if want := []links.DayClicks{{Day: day, Clicks: 2}}; !slices.Equal(got, want) {
		t.Fatalf("days %v, want %v", got, want)
	}
}
