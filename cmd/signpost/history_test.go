package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/sqlite"
)

// With HISTORY_RETENTION set, serve removes older history entries at
// start (and hourly); the links stay, and so do newer entries. Each change
// is also one log line.
func TestServePrunesHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prune.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	octx := links.WithEdit(ctx, links.Edit{Actor: "past", At: old})
	if err := st.Import(octx, links.All([]links.Link{{Name: "old", Key: "old", URL: "https://old.example", CreatedAt: old, UpdatedAt: old}}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	inst := startRun(t, map[string]string{"DATABASE_URL": "sqlite:" + path, "HISTORY_RETENTION": "1d"})
	if resp, body := mustDo(t, "POST", inst.URL+"/api/v1/links", `{"name":"new","url":"https://new.example"}`); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(inst.Log.String(), `"msg":"history pruned"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	log := inst.Log.String()
	if !strings.Contains(log, `"msg":"history pruned","removed":1`) {
		t.Fatalf("no pruning logged:\n%s", log)
	}
	if !strings.Contains(log, `"msg":"link changed","actor":"","action":"create","link":"new"`) {
		t.Errorf("no change log line for the create:\n%s", log)
	}
	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, _ := st.Changes(ctx, links.ChangeQuery{})
	if len(cs) != 1 || cs[0].Name != "new" {
		t.Fatalf("history after pruning: %+v", cs)
	}
	if _, err := st.Get(ctx, "old"); err != nil {
		t.Fatalf("pruning removed the link itself: %v", err)
	}
}

// With CLICK_HISTORY_DAYS set, serve removes the daily click counts of
// older days at start; the totals and the days kept stay.
func TestServePrunesDailyClicks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prune.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	l, _, err := st.Create(ctx, links.Link{Name: "hot", Key: "hot", URL: "https://hot.example", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	today := links.DayOf(now)
	for _, back := range []links.Day{0, 2, 3, 40} { // with 3 days kept: today, and 2 days ago
		if err := st.AddClicks(ctx, []links.Click{{Key: "hot", N: 1, Last: (today - back).Time()}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	inst := startRun(t, map[string]string{"DATABASE_URL": "sqlite:" + path, "CLICK_HISTORY_DAYS": "3"})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(inst.Log.String(), `"msg":"daily clicks pruned"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	if log := inst.Log.String(); !strings.Contains(log, `"msg":"daily clicks pruned","removed":2,"days":3`) {
		t.Fatalf("no pruning logged:\n%s", log)
	}
	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, _ := st.DailyClicks(ctx, l.ID, today-100, today)
	if want := []links.DayClicks{{Day: today - 2, Clicks: 1}, {Day: today, Clicks: 1}}; !slices.Equal(got, want) {
		t.Fatalf("days after pruning: %v, want %v", got, want)
	}
	if got, _ := st.Get(ctx, "hot"); got.Clicks != 4 {
		t.Fatalf("pruning changed the total: %d", got.Clicks)
	}
}
