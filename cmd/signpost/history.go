package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// pruneInterval is how often HISTORY_RETENTION is applied.
const pruneInterval = time.Hour

// pruneHistory removes history entries older than retention now and then
// every interval, until ctx is done. Each replica may run it: removing the
// same old entries twice is harmless.
func pruneHistory(ctx context.Context, st links.Store, retention, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := st.PruneHistory(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("history pruning failed; retrying later", "err", err)
		case n > 0:
			log.Info("history pruned", "removed", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
