package web

import (
	"fmt"
	"net/http"

	"github.com/signpost-go/signpost/internal/links"
)

// chartDays is how many days the link page's chart draws, and the stats
// API's default.
const chartDays = 90

// The chart's geometry, in SVG user units: one bar per day, each
// barStep wide with a gap, up to chartHeight tall.
const (
	barStep     = 6
	barWidth    = 4
	chartHeight = 60
)

// clickChart is the link page's chart of clicks per day: a server-drawn
// SVG (no script), with a title, a description and a text summary for
// those who do not see it.
type clickChart struct {
	Days          int
	From, To      string
	Total         int64
	Max           int64
	MaxDay        string
	Width, Height int
	Bars          []chartBar
}

// chartBar is one day with clicks (days without draw nothing).
type chartBar struct {
	X, Y, W, H int
	Day        string
	Clicks     int64
}

// newClickChart draws series (oldest first, every day present).
func newClickChart(series []links.DayClicks) clickChart {
	c := clickChart{Days: len(series), Width: len(series) * barStep, Height: chartHeight}
	if len(series) == 0 {
		return c
	}
	c.From, c.To = series[0].Day.String(), series[len(series)-1].Day.String()
	for _, d := range series {
		c.Total = links.SumClicks(c.Total, d.Clicks)
		if d.Clicks > c.Max {
			c.Max, c.MaxDay = d.Clicks, d.Day.String()
		}
	}
	for i, d := range series {
		if d.Clicks == 0 {
			continue
		}
		// At least one unit tall, so that a day of one click among
		// thousands still shows.
		h := max(1, int(float64(d.Clicks)/float64(c.Max)*chartHeight+0.5))
		c.Bars = append(c.Bars, chartBar{X: i * barStep, Y: chartHeight - h, W: barWidth, H: h, Day: d.Day.String(), Clicks: d.Clicks})
	}
	return c
}

// Summary is the chart in words: its description and the caption under it.
func (c clickChart) Summary() string {
	if c.Total == 0 {
		return fmt.Sprintf("No clicks in the last %d days (%s to %s, UTC).", c.Days, c.From, c.To)
	}
	s := "s"
	if c.Total == 1 {
		s = ""
	}
	return fmt.Sprintf("%d click%s in the last %d days (%s to %s, UTC); the busiest day was %s with %d.",
		c.Total, s, c.Days, c.From, c.To, c.MaxDay, c.Max)
}

// linkChart reads the chart of the link page for l.
func (s *Server) linkChart(r *http.Request, name string) (clickChart, error) {
	to := links.DayOf(s.opt.Now())
	from := to - links.Day(min(chartDays, s.maxStatsDays())) + 1
	_, series, err := s.opt.Links.DailyClicks(r.Context(), principal(r), name, from, to)
	if err != nil {
		return clickChart{}, err
	}
	return newClickChart(series), nil
}

// stalePage is the stale links: the directory's filter, under a name of
// its own.
func (s *Server) stalePage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/-/links?stale=true", http.StatusFound)
}
