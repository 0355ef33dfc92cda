package links

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Publisher is the read model that learns of every committed change and
// counts clicks before they are stored: the in-memory index.
type Publisher interface {
	// Refresh re-reads keys from s and publishes what it finds. Reading
	// rather than publishing what a write returned keeps concurrent
	// writers of one link in commit order.
	Refresh(ctx context.Context, s Store, keys ...string) error
	// Put and Remove publish without reading: the fallback when the
	// store cannot be read right after a commit.
	Put(Link) error
	Remove(key string)
	Load(ctx context.Context, s Store) error
	// WithPending returns l with the clicks counted and not yet stored
	// added, so that what users see is current.
	WithPending(l Link) Link
}

// Service applies the rules of the domain to writes: names are normalised,
// targets validated, ownership checked; then the store commits and the
// index is updated. Every link it returns carries the clicks counted and
// not yet stored.
type Service struct {
	Store Store
	Index Publisher
	// Enforce ownership (AUTH_MODE=proxy): writes need a user, and only a
	// link's owner may change it. Off, everyone may edit anything.
	Enforce bool
	Now     func() time.Time
	// WriteTimeout bounds each write (an import gets four times as long),
	// so that a busy database answers 503 well before the HTTP server's
	// write timeout cuts the connection; 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
}

// DefaultWriteTimeout is Service.WriteTimeout's default.
const DefaultWriteTimeout = 5 * time.Second

// confirmTimeout bounds the read that settles whether a write whose
// deadline passed committed all the same.
const confirmTimeout = 2 * time.Second

// Input is a create or update request; nil fields are left as they are.
type Input struct {
	Name        *string
	URL         *string
	Description *string
	Owner       *string
}

// MaxDescriptionLen and MaxOwnerLen are the longest description and
// owner accepted, in bytes.
const (
	MaxDescriptionLen = 2048
	MaxOwnerLen       = 256
)

// now is the clock, in microseconds: what both stores keep, so that a
// link read back compares equal to the one written.
func (s *Service) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// writeCtx gives one write its deadline; n scales it (imports).
func (s *Service) writeCtx(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	d := s.WriteTimeout
	if d <= 0 {
		d = DefaultWriteTimeout
	}
	return context.WithTimeout(ctx, time.Duration(n)*d)
}

// committed settles a write that failed as Unavailable after its deadline
// passed: the commit may have raced the deadline. It re-reads key with a
// fresh deadline and reports what is stored when done says the write is
// there, so that a client is never told "failed" about a write that
// committed.
func (s *Service) committed(ctx, wctx context.Context, err error, key string, done func(Link, error) bool) (Link, bool) {
	if ErrorCode(err) != Unavailable || wctx.Err() == nil {
		return Link{}, false
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	got, gerr := s.Store.Get(cctx, key)
	if gerr != nil && ErrorCode(gerr) != NotFound {
		return Link{}, false
	}
	return got, done(got, gerr)
}

// sameLink reports whether a and b have the same user-visible fields.
func sameLink(a, b Link) bool {
	return a.Name == b.Name && a.URL == b.URL && a.Description == b.Description && a.Owner == b.Owner
}

func (s *Service) needUser(user string) error {
	if s.Enforce && user == "" {
		return Errorf(Unauthorized, "sign in to change links: no identity was passed by a trusted proxy")
	}
	return nil
}

// Validate checks l's name, target, description and owner. It returns the
// parsed target.
func Validate(l Link) (*Target, error) {
	if err := ValidateName(l.Name); err != nil {
		return nil, err
	}
	t, err := ValidateTarget(l.URL)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"description", l.Description, MaxDescriptionLen}, {"owner", l.Owner, MaxOwnerLen}} {
		if len(f.v) > f.max {
			return nil, Errorf(Invalid, "%s is %d bytes long; the limit is %d", f.name, len(f.v), f.max)
		}
		if r, ok := spoofingRune(f.v); ok {
			return nil, Errorf(Invalid, "%s contains the control character %U; remove it", f.name, r)
		}
	}
	return t, nil
}

// spoofingRune returns the first rune of s that shows as something else
// or as nothing: a control (NUL included), a bidirectional control (which
// makes text read in another order), or a byte that is not UTF-8.
func spoofingRune(s string) (rune, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return r, true
			}
		case unicode.IsControl(r),
			r == '\u061c', r == '\u200e', r == '\u200f',
			'\u202a' <= r && r <= '\u202e', '\u2066' <= r && r <= '\u2069':
			return r, true
		}
	}
	return 0, false
}

// Get returns the link called name (in any spelling).
func (s *Service) Get(ctx context.Context, name string) (Link, error) {
	l, err := s.Store.Get(ctx, Normalize(name))
	if err != nil {
		return Link{}, err
	}
	return s.Index.WithPending(l), nil
}

// List returns the links opt selects.
func (s *Service) List(ctx context.Context, opt ListOptions) ([]Link, error) {
	ls, err := s.Store.List(ctx, opt)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		ls[i] = s.Index.WithPending(ls[i])
	}
	return ls, nil
}

// Each calls fn for every link, in key order, streaming.
func (s *Service) Each(ctx context.Context, fn func(Link) error) error {
	return s.Store.Each(ctx, func(l Link) error { return fn(s.Index.WithPending(l)) })
}

// Create stores a new link owned by user (or by in.Owner when ownership is
// not enforced).
func (s *Service) Create(ctx context.Context, user string, in Input) (Link, error) {
	if err := s.needUser(user); err != nil {
		return Link{}, err
	}
	var l Link
	apply(&l, in)
	l.Name = strings.TrimSpace(l.Name)
	l.Key = Normalize(l.Name)
	if s.Enforce || l.Owner == "" {
		l.Owner = user
	}
	if _, err := Validate(l); err != nil {
		return Link{}, err
	}
	l.CreatedAt = s.now()
	l.UpdatedAt = l.CreatedAt
	wctx, cancel := s.writeCtx(ctx, 1)
	defer cancel()
	got, err := s.Store.Create(wctx, l)
	switch {
	case err == nil:
	case ErrorCode(err) == Conflict:
		// A retry of a create that committed (its answer lost, or its
		// deadline raced the commit) finds the same link: answer as the
		// first time, not 409.
		cur, gerr := s.Store.Get(ctx, l.Key)
		if gerr != nil || !sameLink(cur, l) {
			return Link{}, err
		}
		got = cur
	default:
		cur, ok := s.committed(ctx, wctx, err, l.Key, func(cur Link, err error) bool {
			return err == nil && sameLink(cur, l) && cur.CreatedAt.Equal(l.CreatedAt)
		})
		if !ok {
			return Link{}, err
		}
		got = cur
	}
	err = s.publish(ctx, &got, got.Key)
	return s.Index.WithPending(got), err
}

// Update changes the fields present in in. A rename is an update of Name.
func (s *Service) Update(ctx context.Context, user, name string, in Input) (Link, error) {
	if err := s.needUser(user); err != nil {
		return Link{}, err
	}
	key := Normalize(name)
	cur, err := s.Store.Get(ctx, key)
	if err != nil {
		return Link{}, err
	}
	if err := s.mayChange(user, cur); err != nil {
		return Link{}, err
	}
	l := cur
	apply(&l, in)
	l.Name = strings.TrimSpace(l.Name)
	l.Key = Normalize(l.Name)
	if s.Enforce && cur.Owner == "" {
		// An unowned link may be claimed, or left unowned; it may not be
		// handed to somebody else by whoever passes by.
		switch {
		case in.Owner == nil:
			l.Owner = user
		case l.Owner != "" && l.Owner != user:
			return Link{}, Errorf(Forbidden, "link %q has no owner: you may claim it (owner %s) or leave it unowned, not give it to %s", cur.Name, user, l.Owner)
		}
	}
	if _, err := Validate(l); err != nil {
		return Link{}, err
	}
	l.UpdatedAt = s.now()
	wctx, cancel := s.writeCtx(ctx, 1)
	defer cancel()
	want := l
	l, err = s.Store.Update(wctx, key, l)
	if err != nil {
		got, ok := s.committed(ctx, wctx, err, want.Key, func(cur Link, err error) bool {
			return err == nil && sameLink(cur, want) && cur.UpdatedAt.Equal(want.UpdatedAt)
		})
		if !ok {
			return Link{}, err
		}
		l = got
	}
	keys := []string{key}
	if l.Key != key {
		keys = append(keys, l.Key)
	}
	err = s.publish(ctx, &l, keys...)
	return s.Index.WithPending(l), err
}

// Delete removes the link called name.
func (s *Service) Delete(ctx context.Context, user, name string) error {
	if err := s.needUser(user); err != nil {
		return err
	}
	key := Normalize(name)
	cur, err := s.Store.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := s.mayChange(user, cur); err != nil {
		return err
	}
	wctx, cancel := s.writeCtx(ctx, 1)
	defer cancel()
	if err := s.Store.Delete(wctx, key); err != nil {
		if _, ok := s.committed(ctx, wctx, err, key, func(_ Link, err error) bool { return ErrorCode(err) == NotFound }); !ok {
			return err
		}
	}
	return s.publish(ctx, nil, key)
}

// publishTimeout bounds the re-read after a commit.
const publishTimeout = 5 * time.Second

// publish shows a committed change in the index: keys are re-read from the
// store, even when the client has gone away meanwhile. If the store cannot
// be read just then, what was written is published as it is (written, or
// nothing for a delete, and the other keys removed); a concurrent write by
// another replica is then repaired by its notification or the next resync.
func (s *Service) publish(ctx context.Context, written *Link, keys ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if s.Index.Refresh(ctx, s.Store, keys...) == nil {
		return nil
	}
	for _, k := range keys {
		if written == nil || k != written.Key {
			s.Index.Remove(k)
		}
	}
	if written != nil {
		return s.Index.Put(*written)
	}
	return nil
}

// Import stores every link (already validated by ReadNDJSON) in one
// transaction and reloads the index. When ownership is enforced, the rules
// of Create and Update hold for every line: the importer owns what it
// imports, and a link owned by someone else refuses the whole import.
// (`signpost import`, on the database, is the operator's way to keep the
// owners in the file.) Unless opt.Stats, the clicks and times in ls are
// not taken: links that exist keep theirs, new ones start at 0 clicks,
// created now.
func (s *Service) Import(ctx context.Context, user string, ls []Link, opt ImportOptions) error {
	if err := s.needUser(user); err != nil {
		return err
	}
	if !opt.Stats {
		now := s.now()
		for i := range ls {
			ls[i].Clicks, ls[i].LastClickedAt, ls[i].CreatedAt, ls[i].UpdatedAt = 0, time.Time{}, now, now
		}
	}
	ctx, cancel := s.writeCtx(ctx, 4)
	defer cancel()
	if s.Enforce {
		owners := map[string]string{}
		err := s.Store.Each(ctx, func(l Link) error {
			if l.Owner != "" && l.Owner != user {
				owners[l.Key] = l.Owner
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range ls {
			if o, ok := owners[ls[i].Key]; ok {
				return Errorf(Forbidden, "link %q belongs to %s; only its owner may change it, so nothing was imported", ls[i].Name, o)
			}
			ls[i].Owner = user
		}
	}
	if err := s.Store.Import(ctx, ls, opt); err != nil {
		return err
	}
	// Committed: reload even if the client has gone meanwhile.
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), 4*publishTimeout)
	defer lcancel()
	return s.Index.Load(lctx, s.Store)
}

func (s *Service) mayChange(user string, l Link) error {
	if !s.Enforce || l.Owner == "" || l.Owner == user {
		return nil
	}
	return Errorf(Forbidden, "link %q belongs to %s; only its owner may change it", l.Name, l.Owner)
}

func apply(l *Link, in Input) {
	if in.Name != nil {
		l.Name = *in.Name
	}
	if in.URL != nil {
		l.URL = strings.TrimSpace(*in.URL)
	}
	if in.Description != nil {
		l.Description = strings.TrimSpace(*in.Description)
	}
	if in.Owner != nil {
		l.Owner = strings.TrimSpace(*in.Owner)
	}
}
