package index

import (
	"context"
	"log/slog"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// Flusher writes counted clicks to the store in batches: one AddClicks (one
// statement) per flush. Counts that cannot be written go back to the index
// and are retried at the next flush.
type Flusher struct {
	Index *Index
	Store links.Store
	Log   *slog.Logger
	// Observe, when set, is told how long each non-empty flush took.
	Observe func(d time.Duration, err error)
}

// Flush writes the pending clicks once.
func (f *Flusher) Flush(ctx context.Context) error {
	cs := f.Index.TakeClicks()
	if len(cs) == 0 {
		return nil
	}
	start := time.Now()
	err := f.Store.AddClicks(ctx, cs)
	if f.Observe != nil {
		f.Observe(time.Since(start), err)
	}
	if err != nil {
		f.Index.ReturnClicks(cs)
		return err
	}
	return nil
}

// Run flushes every interval until ctx is done. The final flush at shutdown
// is the caller's (after the HTTP server has stopped counting).
func (f *Flusher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.Flush(ctx); err != nil && ctx.Err() == nil {
				f.Log.Warn("click flush failed; counts kept for the next flush", "err", err, "code", links.ErrorCode(err))
			}
		}
	}
}
