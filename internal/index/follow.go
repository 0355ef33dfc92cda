package index

import (
	"context"
	"log/slog"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// ChangeFeed is a store that tells which links other replicas changed
// (PostgreSQL, through LISTEN/NOTIFY). SQLite has one writer process and
// no feed.
type ChangeFeed interface {
	// Listen calls onChange with the key of every link another replica
	// changed, and onReconnect after every (re)connection, when
	// notifications may have been missed, until ctx is done.
	Listen(ctx context.Context, onChange func(key string), onReconnect func()) error
	// Listening reports whether the feed is connected now.
	Listening() bool
}

// Follower keeps an index in step with what other replicas commit: each
// changed key is re-read into the index, and after every (re)connection of
// the feed the syncer reloads the index if the store's change counter
// moved. The periodic resync (Syncer.Run) repairs whatever a failed
// re-read left.
type Follower struct {
	Feed   ChangeFeed
	Store  links.Store
	Index  *Index
	Syncer *Syncer
	Log    *slog.Logger
}

// Run follows the feed until ctx is done.
func (f *Follower) Run(ctx context.Context) {
	onChange := func(key string) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := f.Index.Refresh(rctx, f.Store, key); err != nil && ctx.Err() == nil {
			f.Log.Warn("could not re-read a link another replica changed; the next resync will", "key", key, "err", err)
		}
	}
	onReconnect := func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		reloaded, err := f.Syncer.Sync(sctx)
		switch {
		case err != nil && ctx.Err() == nil:
			f.Log.Warn("resync after the change listener (re)connected failed; the periodic resync will retry", "err", err)
		case reloaded:
			f.Log.Info("index resynced for the change listener", "links", f.Index.Len())
		}
	}
	if err := f.Feed.Listen(ctx, onChange, onReconnect); err != nil && ctx.Err() == nil {
		f.Log.Error("change listener stopped; relying on the periodic resync", "err", err)
	}
}
