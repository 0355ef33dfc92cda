package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/signpost-go/signpost/internal/index"
	"github.com/signpost-go/signpost/internal/links"
)

// changeFeed is a store that tells which links other replicas changed
// (PostgreSQL, through LISTEN/NOTIFY). SQLite has one writer process and
// no feed.
type changeFeed interface {
	Listen(ctx context.Context, onChange func(key string), onReconnect func()) error
	Listening() bool
}

// followChanges keeps ix in step with what other replicas commit, until ctx
// is done: each changed key is re-read into the index, and after every
// (re)connection of the listener, when notifications may have been missed,
// the syncer reloads the index if the store's change counter moved. The
// periodic resync (RESYNC_INTERVAL) repairs whatever a failed re-read left.
func followChanges(ctx context.Context, feed changeFeed, st links.Store, ix *index.Index, syncer *index.Syncer, log *slog.Logger) {
	onChange := func(key string) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := ix.Refresh(rctx, st, key); err != nil && ctx.Err() == nil {
			log.Warn("could not re-read a link another replica changed; the next resync will", "key", key, "err", err)
		}
	}
	onReconnect := func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		reloaded, err := syncer.Sync(sctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("resync after the change listener (re)connected failed; the periodic resync will retry", "err", err)
		case reloaded:
			log.Info("index resynced for the change listener", "links", ix.Len())
		}
	}
	if err := feed.Listen(ctx, onChange, onReconnect); err != nil && ctx.Err() == nil {
		log.Error("change listener stopped; relying on the periodic resync", "err", err)
	}
}
