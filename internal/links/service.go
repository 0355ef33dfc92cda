package links

import (
	"context"
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
}

// Service applies the rules of the domain to writes: names are normalised,
// targets validated, ownership checked; then the store commits and the
// index is updated.
type Service struct {
	Store Store
	Index Publisher
	// Tokens keeps API tokens; nil when the backend has none (then no
	// token is ever valid).
	Tokens TokenStore
	// Enforce ownership (AUTH_MODE=proxy or oidc): writes need a user, and
	// only a link's owners (see MayEdit) may change it. Off, everyone may
	// edit anything.
	Enforce bool
	// RequireLogin (REQUIRE_LOGIN=true): reads need a user or a token too.
	RequireLogin bool
	Now          func() time.Time
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
	if err := ValidateOwner(l.Owner); err != nil {
		return nil, err
	}
	return t, nil
}

// Get returns the link called name (in any spelling), when p may read.
func (s *Service) Get(ctx context.Context, p Principal, name string) (Link, error) {
	if err := s.MayRead(p); err != nil {
		return Link{}, err
	}
	return s.Store.Get(ctx, Normalize(name))
}

// List returns the links opt selects, when p may read. Terms
// "owner:NAME" in opt.Query select by owner (owner:me: p's user and
// groups) and are taken out of the text searched.
func (s *Service) List(ctx context.Context, p Principal, opt ListOptions) ([]Link, error) {
	if err := s.MayRead(p); err != nil {
		return nil, err
	}
	q, owners, err := ParseOwnerQuery(opt.Query, p)
	if err != nil {
		return nil, err
	}
	opt.Query, opt.Owners = q, append(opt.Owners, owners...)
	return s.Store.List(ctx, opt)
}

// Create stores a new link owned by p's user, or by in.Owner when p may
// give links to that owner (see mayGive).
func (s *Service) Create(ctx context.Context, p Principal, in Input) (Link, error) {
	if err := s.mayWrite(p); err != nil {
		return Link{}, err
	}
	var l Link
	apply(&l, in)
	l.Name = strings.TrimSpace(l.Name)
	l.Key = Normalize(l.Name)
	if l.Owner == "" {
		l.Owner = p.User
	}
	if err := s.mayGive(p, Link{Name: l.Name}, l.Owner); err != nil {
		return Link{}, err
	}
	if _, err := Validate(l); err != nil {
		return Link{}, err
	}
	l.CreatedAt = s.now()
	l.UpdatedAt = l.CreatedAt
	l, err := s.Store.Create(ctx, l)
	if err != nil {
		return Link{}, err
	}
	return l, s.publish(ctx, &l, l.Key)
}

// Update changes the fields present in in. A rename is an update of Name.
func (s *Service) Update(ctx context.Context, p Principal, name string, in Input) (Link, error) {
	if err := s.mayWrite(p); err != nil {
		return Link{}, err
	}
	key := Normalize(name)
	cur, err := s.Store.Get(ctx, key)
	if err != nil {
		return Link{}, err
	}
	if err := s.MayEdit(p, cur); err != nil {
		return Link{}, err
	}
	l := cur
	apply(&l, in)
	l.Name = strings.TrimSpace(l.Name)
	l.Key = Normalize(l.Name)
	if s.Enforce && cur.Owner == "" && in.Owner == nil {
		// As golink does: editing an unowned link claims it.
		l.Owner = p.User
	}
	if l.Owner != cur.Owner {
		if err := s.mayGive(p, cur, l.Owner); err != nil {
			return Link{}, err
		}
	}
	if _, err := Validate(l); err != nil {
		return Link{}, err
	}
	l.UpdatedAt = s.now()
	l, err = s.Store.Update(ctx, key, l)
	if err != nil {
		return Link{}, err
	}
	if l.Key != key {
		return l, s.publish(ctx, &l, key, l.Key)
	}
	return l, s.publish(ctx, &l, key)
}

// Delete removes the link called name.
func (s *Service) Delete(ctx context.Context, p Principal, name string) error {
	if err := s.mayWrite(p); err != nil {
		return err
	}
	key := Normalize(name)
	cur, err := s.Store.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := s.MayEdit(p, cur); err != nil {
		return err
	}
	if err := s.Store.Delete(ctx, key); err != nil {
		return err
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
// of Create and Update hold for every line: a link p may not edit refuses
// the whole import, and the importer owns what it imports, except that a
// line's owner (or an existing link's) that is p's user or one of p's
// groups is kept. An admin's import keeps the owners in the file, as
// `signpost import` on the database does.
func (s *Service) Import(ctx context.Context, p Principal, ls []Link) error {
	if err := s.mayWrite(p); err != nil {
		return err
	}
	if s.Enforce && !p.IsAdmin() {
		owners := map[string]string{}
		err := s.Store.Each(ctx, func(l Link) error {
			if l.Owner != "" {
				owners[l.Key] = l.Owner
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i := range ls {
			cur, exists := owners[ls[i].Key]
			if exists && !p.Owns(cur) {
				return Errorf(Forbidden, "link %q belongs to %s; only %s may change it, so nothing was imported", ls[i].Name, cur, whoMay(cur))
			}
			switch {
			case p.Owns(ls[i].Owner):
			case exists:
				ls[i].Owner = cur
			default:
				ls[i].Owner = p.User
			}
		}
	}
	if err := s.Store.Import(ctx, ls); err != nil {
		return err
	}
	return s.Index.Load(ctx, s.Store)
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
