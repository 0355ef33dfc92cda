package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3/lock"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store/postgres/pgtest"
	"github.com/signpost-go/signpost/internal/store/storetest"
)

func open(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{MaxOpenConns: 4, MaxIdleConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) links.Store {
		s, err := Open(context.Background(), pgtest.NewDatabase(t), Options{MaxOpenConns: 4, MaxIdleConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestTokenConformance(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) interface {
		links.TokenStore
		Close() error
	} {
		return open(t, pgtest.NewDatabase(t))
	})
}

func mk(name, url string) links.Link {
	now := time.Now().UTC()
	return links.Link{Name: name, Key: links.Normalize(name), URL: url, CreatedAt: now, UpdatedAt: now}
}

// Three replicas starting at once on an empty database: the advisory lock
// makes them migrate one after another, and every one comes up.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.NewDatabase(t)
	const n = 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*Store, n)
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = Open(context.Background(), url, Options{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	ctx := context.Background()
	want, err := stores[0].SchemaVersion(ctx)
	if err != nil || want < 1 {
		t.Fatalf("SchemaVersion = %d, %v", want, err)
	}
	for i, s := range stores {
		if v, _ := s.SchemaVersion(ctx); v != want {
			t.Fatalf("replica %d sees schema %d, want %d", i, v, want)
		}
	}
	// Each migration was applied exactly once. (Counted from the files:
	// version numbers need not be contiguous.)
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	var rows, distinct int
	err = stores[0].DB().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &distinct)
	if err != nil || rows != distinct || rows != len(files) {
		t.Fatalf("goose_db_version: %d rows, %d versions, err %v; want %d each", rows, distinct, err, len(files))
	}
	// And the schema works.
	if _, _, err := stores[1].Create(ctx, mk("x", "https://x.example")); err != nil {
		t.Fatal(err)
	}
}

// Another session holds the migration lock (goose's session locker id,
// looked up in goose, not taken from this package): Open waits without
// migrating anything, gives up when its context is cancelled, and
// completes once the lock is released.
func TestOpenWaitsForMigrationLock(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}

	type result struct {
		s   *Store
		err error
		at  time.Time
	}
	open := func(ctx context.Context) chan result {
		ch := make(chan result, 1)
		go func() {
			s, err := Open(ctx, url, Options{MaxOpenConns: 2, MaxIdleConns: 2})
			ch <- result{s, err, time.Now()}
		}()
		return ch
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelled, waiting := open(cctx), open(ctx)

	// Both keep trying the lock (every second) and migrate nothing.
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case r := <-cancelled:
			t.Fatalf("Open returned (%v) while another session held the migration lock", r.err)
		case r := <-waiting:
			t.Fatalf("Open returned (%v) while another session held the migration lock", r.err)
		case <-time.After(100 * time.Millisecond):
		}
		// (goose creates its empty version table before it takes the lock,
		// to see whether anything is pending; the migrations come after.)
		var migrated bool
		if err := holder.QueryRow(ctx, `SELECT to_regclass('links') IS NOT NULL`).Scan(&migrated); err != nil {
			t.Fatal(err)
		}
		if migrated {
			t.Fatal("the links table was created while the migration lock was held elsewhere")
		}
	}
	var tries int
	if err := holder.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'signpost' AND query LIKE '%pg_try_advisory_lock%'`).Scan(&tries); err != nil || tries != 2 {
		t.Fatalf("sessions trying the migration lock: %d, %v; want 2", tries, err)
	}

	// A cancelled wait ends at once.
	at := time.Now()
	cancel()
	select {
	case r := <-cancelled:
		if r.err == nil {
			r.s.Close()
			t.Fatal("Open succeeded after its context was cancelled, with the lock still held elsewhere")
		}
		t.Logf("cancelled Open returned %v later: %v", r.at.Sub(at).Round(time.Millisecond), r.err)
		if msg := r.err.Error(); !strings.Contains(msg, "migration stopped before it was done") || strings.Contains(msg, "did not answer in time") {
			t.Errorf("a cancelled Open says %q", msg)
		}
	case <-time.After(time.Second):
		t.Fatal("Open still waiting 1s after its context was cancelled")
	}

	// Released: the other migrates and opens within its next retry.
	at = time.Now()
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-waiting:
		if r.err != nil {
			t.Fatalf("Open after the lock was released: %v", r.err)
		}
		defer r.s.Close()
		t.Logf("Open completed %v after the lock was released", r.at.Sub(at).Round(time.Millisecond))
		if v, err := r.s.SchemaVersion(ctx); err != nil || v < 1 {
			t.Fatalf("SchemaVersion = %d, %v", v, err)
		}
		if _, _, err := r.s.Create(ctx, mk("x", "https://x.example")); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open still waiting 5s after the migration lock was released")
	}
}

func TestOpenInvalidURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:secret@127.0.0.1:notaport/db", Options{})
	if links.ErrorCode(err) != links.Invalid {
		t.Fatalf("error = %v (code %q), want invalid", err, links.ErrorCode(err))
	}
	if e := err.Error(); strings.Contains(e, "secret") {
		t.Fatalf("error shows the password: %s", e)
	}
}

// Nothing listens on port 1: a database that is down is Unavailable (503),
// not Internal.
func TestOpenUnreachable(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u@127.0.0.1:1/db?connect_timeout=2", Options{})
	if links.ErrorCode(err) != links.Unavailable {
		t.Fatalf("error = %v (code %q), want unavailable", err, links.ErrorCode(err))
	}
}

// Flushes from many replicas at once, over overlapping keys in opposite
// orders: all counts add up and no flush fails with a deadlock.
func TestAddClicksOverlappingNoDeadlock(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	s := open(t, url)
	const nkeys = 200
	var keys []string
	for i := range nkeys {
		l := mk(fmt.Sprintf("k%03d", i), "https://x.example")
		if _, _, err := s.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, l.Key)
	}
	const workers, rounds = 4, 20
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range workers {
		r := open(t, url) // a replica of its own
		wg.Go(func() {
			for range rounds {
				cs := make([]links.Click, 0, nkeys)
				for _, k := range keys {
					cs = append(cs, links.Click{Key: k, N: 1, Last: time.Now()})
				}
				if w%2 == 1 {
					slices.Reverse(cs)
				}
				if err := r.AddClicks(ctx, cs); err != nil {
					t.Errorf("worker %d: %v", w, err)
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	for _, k := range []string{keys[0], keys[nkeys/2], keys[nkeys-1]} {
		l, err := s.Get(ctx, k)
		if err != nil || l.Clicks != workers*rounds {
			t.Fatalf("%s: %d clicks (%v), want %d", k, l.Clicks, err, workers*rounds)
		}
	}
}

// recorder collects what Listen delivers.
type recorder struct {
	keys       chan string
	reconnects chan struct{}
}

func newRecorder() *recorder {
	return &recorder{keys: make(chan string, 1000), reconnects: make(chan struct{}, 100)}
}

func (r *recorder) onChange(k string) { r.keys <- k }
func (r *recorder) onReconnect()      { r.reconnects <- struct{}{} }

func (r *recorder) waitReconnect(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-r.reconnects:
	case <-time.After(within):
		t.Fatalf("no (re)connection within %v", within)
	}
}

// waitKeys waits for exactly want (in any order) within d of now, and
// returns how long the last one took.
func (r *recorder) waitKeys(t *testing.T, d time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	var got []string
	deadline := time.After(d)
	for len(got) < len(want) {
		select {
		case k := <-r.keys:
			got = append(got, k)
		case <-deadline:
			t.Fatalf("notifications within %v: %q, want %q", d, got, want)
		}
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("notifications %q, want %q", got, want)
	}
	return time.Since(start)
}

func (r *recorder) wantQuiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case k := <-r.keys:
		t.Fatalf("unexpected notification %q", k)
	case <-time.After(d):
	}
}

func listen(t *testing.T, s *Store) *recorder {
	t.Helper()
	r := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, r.onChange, r.onReconnect) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Listen returned %v after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Listen did not return within 5s of cancel")
		}
	})
	r.waitReconnect(t, 5*time.Second)
	return r
}

// A change committed through one replica's store reaches a listener on
// another within a second, with the key(s) it touched.
func TestListenDeliversChanges(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	a, b := open(t, url), open(t, url)
	r := listen(t, b)

	if _, _, err := a.Create(ctx, mk("Docs", "https://a.example")); err != nil {
		t.Fatal(err)
	}
	d := r.waitKeys(t, time.Second, "docs")
	t.Logf("create delivered in %v", d)

	if _, _, err := a.Update(ctx, "docs", mk("Docs", "https://b.example")); err != nil {
		t.Fatal(err)
	}
	r.waitKeys(t, time.Second, "docs")

	if _, _, err := a.Update(ctx, "docs", mk("Manual", "https://b.example")); err != nil {
		t.Fatal(err)
	}
	r.waitKeys(t, time.Second, "docs", "manual") // a rename names both keys

	// Clicks are not changes of the link set.
	if err := a.AddClicks(ctx, []links.Click{{Key: "manual", N: 3, Last: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	// Nor are failed writes: a rolled-back change notifies nobody.
	if _, _, err := a.Create(ctx, mk("manual", "https://c.example")); links.ErrorCode(err) != links.Conflict {
		t.Fatalf("duplicate create: %v", err)
	}
	r.wantQuiet(t, 300*time.Millisecond)

	if _, err := a.Delete(ctx, "manual"); err != nil {
		t.Fatal(err)
	}
	r.waitKeys(t, time.Second, "manual")

	// An import asks for one resync instead of naming every link.
	if err := a.Import(ctx, links.All([]links.Link{mk("x", "https://x.example"), mk("y", "https://y.example")}), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	r.waitReconnect(t, time.Second)
	r.wantQuiet(t, 300*time.Millisecond)
	for _, k := range []string{"x", "y"} {
		if _, err := b.Get(ctx, k); err != nil {
			t.Fatalf("imported %s: %v", k, err)
		}
	}
}

// The listener notices that its connection was killed, reconnects by
// itself, says so, and goes on delivering.
func TestListenReconnectsAfterTerminate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	a, b := open(t, url), open(t, url)
	r := listen(t, b)
	for round := range 3 {
		pgtest.Exec(t, url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'signpost listener'`)
		r.waitReconnect(t, 3*time.Second)
		name := fmt.Sprintf("after%d", round)
		if _, _, err := a.Create(ctx, mk(name, "https://a.example")); err != nil {
			t.Fatal(err)
		}
		r.waitKeys(t, time.Second, name)
	}
}

// An idle listener pings its connection and keeps receiving afterwards.
func TestListenIdlePing(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, b := open(t, url), open(t, url)
	b.idlePing = 100 * time.Millisecond
	r := listen(t, b)
	time.Sleep(500 * time.Millisecond) // several idle timeouts and pings
	select {
	case <-r.reconnects:
		t.Fatal("idle timeouts made the listener reconnect")
	default:
	}
	if _, _, err := a.Create(context.Background(), mk("late", "https://a.example")); err != nil {
		t.Fatal(err)
	}
	r.waitKeys(t, time.Second, "late")
}

// The database goes away and comes back: reads and writes answer
// Unavailable meanwhile, then work again on the same Store without a
// reopen, and the listener reconnects and delivers later changes.
func TestOutageAndRecovery(t *testing.T) {
	url, srv := pgtest.NewOutage(t)
	ctx := context.Background()
	a, b := open(t, url), open(t, url)
	b.minBackoff, b.maxBackoff = 50*time.Millisecond, 500*time.Millisecond
	r := listen(t, b)
	if _, _, err := a.Create(ctx, mk("before", "https://a.example")); err != nil {
		t.Fatal(err)
	}
	r.waitKeys(t, time.Second, "before")

	srv.Stop()
	for name, err := range map[string]error{
		"Create":    func() error { _, _, err := a.Create(ctx, mk("during", "https://a.example")); return err }(),
		"Get":       func() error { _, err := a.Get(ctx, "before"); return err }(),
		"AddClicks": a.AddClicks(ctx, []links.Click{{Key: "before", N: 1, Last: time.Now()}}),
		"Version":   func() error { _, err := a.Version(ctx); return err }(),
		"Ping":      a.Ping(ctx),
	} {
		if links.ErrorCode(err) != links.Unavailable {
			t.Errorf("%s while down: %v (code %q), want unavailable", name, err, links.ErrorCode(err))
		}
	}
	time.Sleep(time.Second) // several failed reconnects

	srv.Start()
	if _, _, err := a.Create(ctx, mk("after", "https://a.example")); err != nil {
		t.Fatalf("first write after recovery: %v", err)
	}
	r.waitReconnect(t, 3*time.Second)
	// "after" may have been committed before the listener was back (the
	// reconnect is what tells the caller to resync) or after. Later
	// changes arrive in any case.
	if _, _, err := a.Create(ctx, mk("later", "https://a.example")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Second)
	for {
		select {
		case k := <-r.keys:
			if k == "later" {
				return
			}
			if k != "after" {
				t.Fatalf("unexpected notification %q", k)
			}
		case <-deadline:
			t.Fatal(`no notification for "later" within 1s after the listener reconnected`)
		}
	}
}

// usePool checks out n connections at once and returns them, twice: the
// pool then holds n idle connections, each reused (and so marked as
// checked) just now, like a replica's pool under a steady trickle of
// edits and flushes.
func usePool(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	for range 2 {
		conns := make([]interface{ Close() error }, 0, n)
		for range n {
			c, err := s.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if idle := s.DB().Stats().Idle; idle != n {
		t.Fatalf("%d idle connections in the pool, want %d", idle, n)
	}
}

// writes creates n links named prefix-i one after another and returns the
// errors.
func writes(s *Store, prefix string, n int) []error {
	var errs []error
	for i := range n {
		if _, _, err := s.Create(context.Background(), mk(fmt.Sprintf("%s-%d", prefix, i), "https://a.example")); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Sessions terminated under the pool (what a fast shutdown, a failover or
// an administrator's pg_terminate_backend does: SQLSTATE 57P01, sent to
// idle connections): the next writes must not fail on the dead pooled
// connections. The pool pings a connection before every reuse and opens a
// new one when the ping fails.
func TestWritesAfterSessionsTerminated(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s := open(t, url)
	usePool(t, s, 4)
	pgtest.Exec(t, url, `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'signpost' AND pid <> pg_backend_pid()`)
	if errs := writes(s, "after", 8); len(errs) > 0 {
		t.Errorf("%d of 8 writes after the pool's sessions were terminated failed: %v", len(errs), errs)
	}
}

// The same through a real `pg_ctl restart -m fast`: every write after the
// server accepts connections again succeeds, without reopening the Store.
// (pgx's default pings a connection only after 1 s idle, so a restart
// faster than that failed one write per pooled connection: 5 of 40.)
func TestWritesAfterFastRestart(t *testing.T) {
	url, srv := pgtest.NewOutage(t)
	s := open(t, url)
	usePool(t, s, 4)
	start := time.Now()
	srv.Restart()
	took := time.Since(start)
	errs := writes(s, "after", 40)
	if len(errs) > 0 {
		t.Errorf("%d of 40 writes right after a %v restart failed: %v", len(errs), took.Round(time.Millisecond), errs)
	}
	if took > time.Second {
		t.Logf("the restart took %v, longer than pgx's 1 s idle threshold: this run would pass without the ping too (TestWritesAfterSessionsTerminated does not depend on timing)", took.Round(time.Millisecond))
	}
}

// What an operator sees when the database is down at start names it and
// the cause.
func TestOpenUnreachableSaysWhere(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", Options{})
	msg := links.ErrorMessage(err)
	for _, want := range []string{"127.0.0.1:1/db", "refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error shows the password: %v", err)
	}
}

// An import (a bulk transaction) moves the link-set version once, not once
// per row: the trigger's update of the one counter row per row made an
// import of n links O(n^2) (PostgreSQL walks every version of the row the
// transaction made). A silent change still moves it, and a single write
// by one.
func TestBulkTransactionBumpsTheVersionOnce(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	s := open(t, dbURL)
	var ls []links.Link
	for i := range 300 {
		ls = append(ls, mk(fmt.Sprintf("bulk%d", i), "https://bulk.example"))
	}
	v0, err := s.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, links.All(ls), links.ImportOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	v1, _ := s.Version(ctx)
	if v1 <= v0 || v1-v0 > 2 {
		t.Fatalf("an import of %d links moved the version from %d to %d, want by 1 or 2", len(ls), v0, v1)
	}
	pgtest.Exec(t, dbURL, `BEGIN; SET LOCAL signpost.bulk = 'on';
		UPDATE links SET url = 'https://silent.example' WHERE key LIKE 'bulk1%'; COMMIT`)
	v2, _ := s.Version(ctx)
	if v2 != v1+1 {
		t.Fatalf("a silent change of many rows moved the version from %d to %d, want by 1", v1, v2)
	}
	if _, v3, err := s.Create(ctx, mk("single", "https://single.example")); err != nil || v3 != v2+1 {
		t.Fatalf("a create committed as version %d (%v), want %d", v3, err, v2+1)
	}
}
