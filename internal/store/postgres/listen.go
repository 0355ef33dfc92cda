package postgres

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Listen follows the changes that any replica commits, until ctx is done.
//
// It LISTENs on Channel over a connection of its own (outside the pool)
// and calls onChange with the key of every link that was created, updated,
// deleted or renamed (a rename sends the old and the new key). It calls
// onReconnect after every connection is established and listening,
// including the first: notifications sent while no connection was
// listening are lost, so the caller resyncs then. onReconnect is also
// called for a bulk change (an import), which names no keys.
//
// When the connection fails or the database goes away, Listen reconnects
// by itself with capped exponential backoff (100 ms doubling to 5 s, with
// jitter so that replicas do not reconnect in step). An idle connection is
// pinged every 30 s, so that a silently dropped one is noticed.
//
// Callbacks run one at a time on Listen's goroutine, in commit order;
// notifications that arrive meanwhile wait in the connection's buffer.
// Listen returns nil when ctx is done.
func (s *Store) Listen(ctx context.Context, onChange func(key string), onReconnect func()) error {
	backoff := s.minBackoff
	for attempt := 1; ctx.Err() == nil; attempt++ {
		listened, err := s.listenOnce(ctx, onChange, onReconnect)
		if ctx.Err() != nil {
			break
		}
		if listened {
			backoff, attempt = s.minBackoff, 1
		}
		wait := backoff + rand.N(backoff/5+1)
		s.log.Warn("change listener disconnected; reconnecting", "err", err, "attempt", attempt, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
	return nil
}

// Listening reports whether Listen is connected and listening now: while
// it is not, other replicas' changes arrive only with a resync.
func (s *Store) Listening() bool { return s.listening.Load() }

// listenOnce connects, listens and delivers notifications until the
// connection fails or ctx is done. listened reports whether it got as far
// as listening (which resets the backoff).
func (s *Store) listenOnce(ctx context.Context, onChange func(string), onReconnect func()) (listened bool, err error) {
	cfg := s.cfg.Copy()
	cfg.RuntimeParams["application_name"] = cfg.RuntimeParams["application_name"] + " listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return false, err
	}
	s.log.Info("change listener connected", "channel", Channel)
	s.listening.Store(true)
	defer s.listening.Store(false)
	onReconnect()
	for {
		wctx, cancel := context.WithTimeout(ctx, s.idlePing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return true, nil
		case err != nil && pgconn.Timeout(err) && !conn.IsClosed():
			// Idle: make sure the connection is still there.
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		case err != nil:
			return true, err
		case n.Payload == "":
			onReconnect()
		default:
			onChange(n.Payload)
		}
	}
}
