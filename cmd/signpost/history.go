package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// pruneInterval is how often HISTORY_RETENTION and CLICK_HISTORY_DAYS are
// applied.
const pruneInterval = time.Hour

// pruneHistory removes history entries older than retention now and then
// every interval, until ctx is done. Each replica may run it: removing the
// same old entries twice is harmless.
func pruneHistory(ctx context.Context, st links.Store, retention, interval time.Duration, log *slog.Logger) {
	pruneEvery(ctx, interval, log, "history", func() (int64, error) {
		return st.PruneHistory(ctx, time.Now().Add(-retention))
	}, "retention", retention.String())
}

// pruneClicks keeps the daily click counts of the last days UTC days
// (today is one of them), like pruneHistory.
func pruneClicks(ctx context.Context, st links.Store, days int, interval time.Duration, log *slog.Logger) {
	pruneEvery(ctx, interval, log, "daily clicks", func() (int64, error) {
		return st.PruneClicks(ctx, links.DayOf(time.Now())-links.Day(days)+1)
	}, "days", days)
}

// pruneEvery runs prune now and then every interval until ctx is done,
// logging what it removed (with attrs) or why it failed.
func pruneEvery(ctx context.Context, interval time.Duration, log *slog.Logger, what string, prune func() (int64, error), attrs ...any) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := prune()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn(what+" pruning failed; retrying later", "err", err)
		case n > 0:
			log.Info(what+" pruned", append([]any{"removed", n}, attrs...)...)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
