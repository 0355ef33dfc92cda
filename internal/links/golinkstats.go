package links

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ClickTotal is what an import of click counts sets on one link: its
// total, its last click (zero: unknown) and its clicks per UTC day (days
// with clicks, oldest first).
type ClickTotal struct {
	Clicks int64
	Last   time.Time
	Days   []DayClicks
}

// ReadGolinkStats reads tailscale/golink's click statistics, as its
// /.export-stats serves them (golink.go, serveExportStats: "ID,unix
// seconds,clicks" per line, one line per link and flush, the rows of its
// Stats table), into each link's total: the sum of its rows, keyed by
// Normalize of golink's ID (golink's linkID, path-escaped, lower case,
// without '-'). golink keeps no time of the last click; the time of the
// last flush that counted one (to the minute) stands for it. Each row's
// clicks also count on the UTC day of its time. Every bad
// line is reported, as ReadNDJSON does: an Invalid error wrapping a
// *LineErrors.
func ReadGolinkStats(r io.Reader) (map[string]ClickTotal, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	out := map[string]ClickTotal{}
	days := map[string]map[Day]int64{}
	var bad LineErrors
	for n := 1; ; n++ {
		b, _, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, Wrap(err, Invalid, "reading golink stats: "+err.Error())
		}
		line := strings.TrimSpace(string(b))
		switch {
		case tooLong:
			bad.add(n, fmt.Sprintf("longer than %d bytes", MaxImportLine))
		case line == "":
		default:
			key, c, reason := parseStatsLine(line)
			if reason != "" {
				bad.add(n, reason)
				break
			}
			t := out[key]
			t.Clicks = SumClicks(t.Clicks, c.Clicks)
			if c.Clicks > 0 && c.Last.After(t.Last) {
				t.Last = c.Last
			}
			out[key] = t
			if c.Clicks > 0 {
				if days[key] == nil {
					days[key] = map[Day]int64{}
				}
				d := DayOf(c.Last)
				days[key][d] = SumClicks(days[key][d], c.Clicks)
			}
		}
		if err != nil { // io.EOF
			break
		}
	}
	if bad.Total > 0 {
		return nil, Wrap(&bad, Invalid, bad.Error())
	}
	for key, ds := range days {
		t := out[key]
		for d, n := range ds {
			t.Days = append(t.Days, DayClicks{Day: d, Clicks: n})
		}
		slices.SortFunc(t.Days, func(a, b DayClicks) int { return cmp.Compare(a.Day, b.Day) })
		out[key] = t
	}
	return out, nil
}

// parseStatsLine reads one "ID,unix seconds,clicks" line.
func parseStatsLine(line string) (string, ClickTotal, string) {
	f := strings.Split(line, ",")
	if len(f) != 3 {
		return "", ClickTotal{}, fmt.Sprintf("want ID,unix seconds,clicks (golink's /.export-stats), not %d fields", len(f))
	}
	id, err := url.PathUnescape(f[0])
	if err != nil || id == "" {
		return "", ClickTotal{}, fmt.Sprintf("link ID %.40q is not one golink writes", f[0])
	}
	if len(id) > MaxNameLen {
		return "", ClickTotal{}, fmt.Sprintf("link ID is %d bytes long; the limit is %d", len(id), MaxNameLen)
	}
	sec, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || sec < MinTime.Unix() || sec >= MaxTime.Unix() {
		return "", ClickTotal{}, fmt.Sprintf("time %.40q is not unix seconds in the years 1970 to 9999", f[1])
	}
	n, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || n < 0 || n > MaxClicks {
		return "", ClickTotal{}, fmt.Sprintf("clicks must be from 0 to %d, not %.40q", int64(MaxClicks), f[2])
	}
	return Normalize(id), ClickTotal{Clicks: n, Last: time.Unix(sec, 0).UTC()}, ""
}

// WithClicks returns l with the total that totals hold for its key, if
// any: the imported count replaces its clicks, and its last click moves
// to the imported one when that is later.
func WithClicks(l Link, totals map[string]ClickTotal) (Link, bool) {
	t, ok := totals[l.Key]
	if !ok {
		return l, false
	}
	l.Clicks = t.Clicks
	if t.Last.After(l.LastClickedAt) {
		l.LastClickedAt = t.Last
	}
	return l, true
}

// ImportClicks sets the totals on the links st holds (see WithClicks), in
// one Import with their stats: no new versions, no history entries. It
// holds at most one link per total.
func ImportClicks(ctx context.Context, st Store, totals map[string]ClickTotal) (applied, unknown int, err error) {
	var ls []Link
	err = st.Each(ctx, func(l Link) error {
		if l, ok := WithClicks(l, totals); ok {
			ls = append(ls, l)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if err := st.Import(ctx, All(ls), ImportOptions{Stats: true}); err != nil {
		return 0, 0, err
	}
	return len(ls), len(totals) - len(ls), ImportClickDays(ctx, st, totals)
}

// ImportClickDays writes the days of totals onto the stored links they
// name, replacing what those days held (so that a second run changes
// nothing): the chart of a link moved from golink goes back as far as
// golink's statistics do, until CLICK_HISTORY_DAYS prunes it. It runs
// after the import that set the totals, in a transaction of its own.
func ImportClickDays(ctx context.Context, st Store, totals map[string]ClickTotal) error {
	var cs []LinkDayClicks
	err := st.Each(ctx, func(l Link) error {
		for _, d := range totals[l.Key].Days {
			cs = append(cs, LinkDayClicks{LinkID: l.ID, DayClicks: d})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return st.SetDailyClicks(ctx, cs)
}
