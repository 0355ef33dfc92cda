package web

import (
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

// A day of one click beside a day of thousands still shows: one unit.
func TestChartSmallestBarShows(t *testing.T) {
	c := newClickChart([]links.DayClicks{{Day: 10, Clicks: 1}, {Day: 11, Clicks: 0}, {Day: 12, Clicks: 5000}})
	if len(c.Bars) != 2 || c.Bars[0].H != 1 || c.Bars[0].Y != chartHeight-1 || c.Bars[1].H != chartHeight || c.Bars[1].X != 2*barStep {
		t.Fatalf("bars = %+v", c.Bars)
	}
	if c.Total != 5001 || c.Max != 5000 || c.Width != 3*barStep {
		t.Fatalf("chart = %+v", c)
	}
}
