package index

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// FlushBatch is how many links' clicks one AddClicks call (one
// transaction) carries: small enough that a link write waiting for the
// database's single writer waits milliseconds, not a whole flush.
const FlushBatch = 1000

// Flusher writes counted clicks to the store: it takes only the links
// clicked since the last flush, sorts them by key (the order of the
// primary key, so that the database walks its pages once and concurrent
// flushers lock rows in the same order), and writes them in batches of
// FlushBatch, one transaction each. Counts that cannot be written go back
// to the index and are retried at the next flush.
type Flusher struct {
	Index *Index
	Store links.Store
	Log   *slog.Logger
	// Observe, when set, is told how long each non-empty flush took.
	Observe func(d time.Duration, err error)
}

// Flush writes the pending clicks once.
func (f *Flusher) Flush(ctx context.Context) error {
	ts := f.Index.takeClicks()
	if len(ts) == 0 {
		return nil
	}
	start := time.Now()
	slices.SortFunc(ts, func(a, b taken) int { return cmp.Compare(a.e.key, b.e.key) })
	batch := make([]links.Click, 0, min(len(ts), FlushBatch))
	var err error
	for i := 0; i < len(ts); i += FlushBatch {
		part := ts[i:min(i+FlushBatch, len(ts))]
		batch = batch[:0]
		for _, t := range part {
			batch = append(batch, links.Click{Key: t.e.key, N: t.n, Last: time.UnixMicro(t.last).UTC()})
		}
		if err = f.Store.AddClicks(ctx, batch); err != nil {
			// This batch and those after it were not written.
			f.Index.returnClicks(ts[i:])
			break
		}
	}
	if f.Observe != nil {
		f.Observe(time.Since(start), err)
	}
	return err
}

// Run flushes every interval until ctx is done, and keeps the index's
// click clock current (to the second: last-click times need no more, and
// a redirect then reads no clock for them; see Tick). The final flush at
// shutdown is the caller's (after the HTTP server has stopped counting).
func (f *Flusher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	clock := time.NewTicker(time.Second)
	defer clock.Stop()
	f.Index.Tick(time.Now())
	defer f.Index.clock.Store(0)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-clock.C:
			f.Tick(ctx, now)
		case <-t.C:
			if err := f.Flush(ctx); err != nil && ctx.Err() == nil {
				f.Log.Warn("click flush failed; counts kept for the next flush", "err", err, "code", links.ErrorCode(err))
			}
		}
	}
}

// Tick moves the index's click clock to now. The store adds each link's
// clicks to the UTC day of its latest click, so when now is on another
// UTC day than the clock, Tick first flushes what was counted on the day
// that ended: a day's clicks are not carried into the next by a flush
// interval that spans midnight (at most the clock's second and the
// flush's own time are). A failed flush keeps its counts, with their
// times, for the next one.
func (f *Flusher) Tick(ctx context.Context, now time.Time) {
	if prev := f.Index.clock.Load(); prev != 0 && links.DayOf(time.UnixMicro(prev)) != links.DayOf(now) {
		if err := f.Flush(ctx); err != nil && ctx.Err() == nil {
			f.Log.Warn("click flush at midnight failed; counts kept for the next flush", "err", err, "code", links.ErrorCode(err))
		}
	}
	f.Index.Tick(now)
}
