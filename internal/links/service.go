package links

import (
	"context"
	"iter"
	"strings"
	"time"
)

// Publisher is the read model that learns of every committed change: the
// in-memory index.
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
	// Published tells the read model that the change committed as
	// link-set version v is published (re-read after its commit), so
	// that it is not reloaded for it.
	Published(v int64)
}

// Service applies the rules of the domain to writes: names are normalised,
// targets validated, ownership checked; then the store commits and the
// index is updated.
type Service struct {
	Store Store
	Index Publisher
	// Enforce ownership (AUTH_MODE=proxy): writes need a user, and only a
	// link's owner may change it. Off, everyone may edit anything.
	Enforce bool
	Now     func() time.Time
}

// Input is a create or update request; nil fields are left as they are.
type Input struct {
	Name        *string
	URL         *string
	Description *string
	Owner       *string
}

// MaxDescriptionLen is the longest description accepted, in bytes.
const MaxDescriptionLen = 2048

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) needUser(user string) error {
	if s.Enforce && user == "" {
		return Errorf(Unauthorized, "sign in to change links: no identity was passed by a trusted proxy")
	}
	return nil
}

// Validate checks l's name, target and description. It returns the parsed
// target.
func Validate(l Link) (*Target, error) {
	if err := ValidateName(l.Name); err != nil {
		return nil, err
	}
	t, err := ParseTarget(l.URL)
	if err != nil {
		return nil, err
	}
	if len(l.Description) > MaxDescriptionLen {
		return nil, Errorf(Invalid, "description is %d bytes long; the limit is %d", len(l.Description), MaxDescriptionLen)
	}
	return t, nil
}

// Get returns the link called name (in any spelling).
func (s *Service) Get(ctx context.Context, name string) (Link, error) {
	return s.Store.Get(ctx, Normalize(name))
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
	l, v, err := s.Store.Create(ctx, l)
	if err != nil {
		return Link{}, err
	}
	return l, s.publish(ctx, v, &l, l.Key)
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
	l, v, err := s.Store.Update(ctx, key, l)
	if err != nil {
		return Link{}, err
	}
	if l.Key != key {
		return l, s.publish(ctx, v, &l, key, l.Key)
	}
	return l, s.publish(ctx, v, &l, key)
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
	v, err := s.Store.Delete(ctx, key)
	if err != nil {
		return err
	}
	return s.publish(ctx, v, nil, key)
}

// publishTimeout bounds the re-read after a commit.
const publishTimeout = 5 * time.Second

// publish shows a committed change, at link-set version v, in the index:
// keys are re-read from the store, even when the client has gone away
// meanwhile, and the index learns that it holds v. If the store cannot be
// read just then, what was written is published as it is (written, or
// nothing for a delete, and the other keys removed), and v is not claimed:
// a concurrent write by another replica is then repaired by its
// notification or the next resync.
func (s *Service) publish(ctx context.Context, v int64, written *Link, keys ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if s.Index.Refresh(ctx, s.Store, keys...) == nil {
		s.Index.Published(v)
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

// Import stores every link (validated, as ScanNDJSON yields them) in one
// transaction, streaming, and reloads the index; it returns how many it
// stored. When ownership is enforced, the rules of Create and Update hold
// for every line: the importer owns what it imports, and a link owned by
// someone else refuses the whole import. (`signpost import`, on the
// database, is the operator's way to keep the owners in the file.)
func (s *Service) Import(ctx context.Context, user string, ls iter.Seq2[Link, error]) (int, error) {
	if err := s.needUser(user); err != nil {
		return 0, err
	}
	var owners map[string]string
	if s.Enforce {
		owners = map[string]string{}
		err := s.Store.Each(ctx, func(l Link) error {
			if l.Owner != "" && l.Owner != user {
				owners[l.Key] = l.Owner
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	err := s.Store.Import(ctx, func(yield func(Link, error) bool) {
		for l, err := range ls {
			if err == nil && s.Enforce {
				if o, ok := owners[l.Key]; ok {
					err = Errorf(Forbidden, "link %q belongs to %s; only its owner may change it, so nothing was imported", l.Name, o)
				}
				l.Owner = user
			}
			if err == nil {
				n++
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return n, s.Index.Load(ctx, s.Store)
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
