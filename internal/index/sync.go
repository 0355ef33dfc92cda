package index

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// Syncer reloads the index whenever the store's change counter has moved
// past what the index holds: the safety net behind change notifications,
// and how a running server sees what `signpost import` wrote to its
// database directly. The index's own writes move what it holds on
// (Index.Published), so they are never followed by a reload.
type Syncer struct {
	Index *Index
	Store links.Store
	Log   *slog.Logger

	mu sync.Mutex // Run and a change listener's reconnects both Sync
}

// settleWait bounds how long a resync waits for the writes in flight
// (Index.Writing): a replica that writes without a pause still resyncs.
const settleWait = 2 * time.Second

// Sync reloads the index if the store changed since what the index holds
// (or always, the first time). It reports whether it reloaded.
func (s *Syncer) Sync(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.Store.Version(ctx)
	if err != nil {
		return false, err
	}
	if s.Index.Loaded() && (v <= s.Index.Version() || s.Index.caughtUp(ctx, v, settleWait)) {
		// Up to date, or ahead only by this replica's own writes that
		// had committed and not yet published.
		return false, nil
	}
	if err := s.Index.Load(ctx, s.Store); err != nil {
		return false, err
	}
	return true, nil
}

// Run syncs every interval until ctx is done.
func (s *Syncer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			reloaded, err := s.Sync(ctx)
			if err != nil && ctx.Err() == nil {
				s.Log.Warn("index resync failed; serving the last snapshot", "err", err)
			} else if reloaded {
				s.Log.Info("index resynced", "links", s.Index.Len())
			}
		}
	}
}
