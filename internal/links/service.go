package links

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
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
	// Published tells the read model that the change committed as
	// link-set version v is published (re-read after its commit), so
	// that it is not reloaded for it.
	Published(v int64)
	// Writing marks a write in flight, from before its commit until its
	// publish; calling done ends it. (A resync that finds the store ahead
	// waits for these rather than reloading for them.)
	Writing() (done func())
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
	// WriteTimeout bounds each write (an import gets four times as long),
	// so that a busy database answers 503 well before the HTTP server's
	// write timeout cuts the connection; 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Log gets one line per committed change (actor, action, link); nil
	// discards them.
	Log *slog.Logger
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
	Tags        *[]string // replaces every tag; see NormalizeTags
	// AliasOf makes the link an alias of the link of that name ("": not
	// an alias). Setting it without URL clears the URL, and setting a
	// non-empty URL without it ends the alias: an alias has no URL of its
	// own.
	AliasOf *string
	// LeaveAlias, on a rename, leaves an alias under the old name (of
	// the renamed link, or of its target when it is an alias itself), so
	// that links to the old name keep working.
	LeaveAlias bool
	// IfMatch, when set, makes an update happen only if the link is still
	// at one of these versions (an ETag, an edit form's version);
	// otherwise Update fails with Stale and changes nothing.
	IfMatch []Rev

	action Action // set by Restore
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

// Validate checks l's name, target (or, for an alias, the name of its
// target), description and owner. It returns the parsed target (nil for
// an alias). Whether an alias's target exists and is no alias itself, the
// store checks in the writing transaction.
func Validate(l Link) (*Target, error) {
	if err := ValidateName(l.Name); err != nil {
		return nil, inField("name", err)
	}
	var t *Target
	if l.IsAlias() {
		if err := validateAlias(l); err != nil {
			return nil, err
		}
	} else {
		var err error
		if t, err = ValidateTarget(l.URL); err != nil {
			return nil, inField("url", err)
		}
	}
	if err := validateText("description", l.Description, MaxDescriptionLen); err != nil {
		return nil, inField("description", err)
	}
	if err := ValidateOwner(l.Owner); err != nil {
		return nil, inField("owner", err)
	}
	return t, nil
}

func validateAlias(l Link) error {
	if l.URL != "" {
		return inField("url", Errorf(Invalid, "go/%s is an alias of go/%s and has no URL of its own; leave the URL empty, or make it no alias", l.Name, l.AliasOf))
	}
	if err := ValidateName(l.AliasOf); err != nil {
		return inField("alias_of", Errorf(Invalid, "alias of: %s", ErrorMessage(err)))
	}
	if Normalize(l.AliasOf) == Normalize(l.Name) {
		return inField("alias_of", Errorf(Invalid, "go/%s cannot be an alias of itself", l.Name))
	}
	return nil
}

// validateText bounds a free-text field and refuses what would show as
// something else.
func validateText(name, v string, max int) error {
	if len(v) > max {
		return Errorf(Invalid, "%s is %d bytes long; the limit is %d", name, len(v), max)
	}
	if r, ok := spoofingRune(v); ok {
		return Errorf(Invalid, "%s contains the control character %U; remove it", name, r)
	}
	return nil
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

// Get returns the link called name (in any spelling), when p may read.
func (s *Service) Get(ctx context.Context, p Principal, name string) (Link, error) {
	if err := s.MayRead(p); err != nil {
		return Link{}, err
	}
	l, err := s.Store.Get(ctx, Normalize(name))
	if err != nil {
		return Link{}, err
	}
	return s.Index.WithPending(l), nil
}

// List returns the links opt selects, when p may read. Terms
// "owner:NAME" in opt.Query select by owner (owner:me: p's user and
// groups) and are taken out of the text searched.
func (s *Service) List(ctx context.Context, p Principal, opt ListOptions) ([]Link, error) {
	opt, err := s.listOptions(p, opt)
	if err != nil {
		return nil, err
	}
	ls, err := s.Store.List(ctx, opt)
	if err != nil {
		return nil, err
	}
	for i := range ls {
		ls[i] = s.Index.WithPending(ls[i])
	}
	return ls, nil
}

// Count is the number of links List would return without Limit and After.
func (s *Service) Count(ctx context.Context, p Principal, opt ListOptions) (int, error) {
	opt, err := s.listOptions(p, opt)
	if err != nil {
		return 0, err
	}
	return s.Store.Count(ctx, opt)
}

// listOptions checks that p may read and resolves the owner filters, for
// List and Count alike: owner:NAME terms left in opt.Query (see
// ParseOwnerQuery), and opt.Owner "me" (what ParseSearch makes of
// owner:me), which stands for p's user and groups.
func (s *Service) listOptions(p Principal, opt ListOptions) (ListOptions, error) {
	if err := s.MayRead(p); err != nil {
		return opt, err
	}
	q, owners, err := ParseOwnerQuery(opt.Query, p)
	if err != nil {
		return opt, err
	}
	if opt.Owner == "me" {
		if p.Anonymous() {
			return opt, Errorf(Unauthorized, "sign in to search for owner:me")
		}
		opt.Owner, owners = "", append(owners, p.Owners()...)
	}
	opt.Query, opt.Owners = q, append(slices.Clip(opt.Owners), owners...)
	return opt, nil
}

// Each calls fn for every link, in key order, streaming, when p may read.
func (s *Service) Each(ctx context.Context, p Principal, fn func(Link) error) error {
	if err := s.MayRead(p); err != nil {
		return err
	}
	return s.Store.Each(ctx, func(l Link) error { return fn(s.Index.WithPending(l)) })
}

// Create stores a new link owned by p's user, or by in.Owner when p may
// give links to that owner (see mayGive).
func (s *Service) Create(ctx context.Context, p Principal, in Input) (Link, error) {
	defer s.Index.Writing()()
	if err := s.mayWrite(p); err != nil {
		return Link{}, err
	}
	var l Link
	if err := apply(&l, in); err != nil {
		return Link{}, err
	}
	l.Name = strings.TrimSpace(l.Name)
	l.Key = Normalize(l.Name)
	if l.Owner == "" {
		l.Owner = p.User
	}
	if err := s.mayGive(p, Link{Name: l.Name}, l.Owner); err != nil {
		return Link{}, inField("owner", err)
	}
	if _, err := Validate(l); err != nil {
		return Link{}, err
	}
	l.CreatedAt = s.now()
	l.UpdatedAt = l.CreatedAt
	wctx, cancel := s.writeCtx(ctx, 1)
	defer cancel()
	got, v, err := s.Store.Create(WithEdit(wctx, Edit{Actor: p.User, Action: ActionCreate}), l)
	switch {
	case err == nil:
	case ErrorCode(err) == Conflict:
		// A retry of a create that committed (its answer lost, or its
		// deadline raced the commit) finds the same link: answer as the
		// first time, not 409. Nothing changed, so nothing is logged.
		cur, gerr := s.Store.Get(ctx, l.Key)
		if gerr != nil || !SameValues(cur, l) {
			return Link{}, inField("name", err) // the name is taken
		}
		return cur, s.publish(ctx, 0, &cur, cur.Key)
	default:
		cur, ok := s.committed(ctx, wctx, err, l.Key, func(cur Link, err error) bool {
			return err == nil && SameValues(cur, l) && cur.CreatedAt.Equal(l.CreatedAt)
		})
		if !ok {
			return Link{}, err
		}
		got = cur
	}
	s.logChange(p.User, ActionCreate, got)
	err = s.publish(ctx, v, &got, got.Key)
	return s.Index.WithPending(got), err
}

// staleRetries bounds how often Update and Delete start over when another
// write came between their read and their write (without IfMatch, the
// caller wants its change applied to whatever the link is now).
const staleRetries = 3

// Update changes the fields present in in. A rename is an update of Name.
// The write is conditional on the version it read (or in.IfMatch), so that
// a concurrent change is never overwritten unseen, nor one p may not make.
func (s *Service) Update(ctx context.Context, p Principal, name string, in Input) (Link, error) {
	defer s.Index.Writing()()
	if err := s.mayWrite(p); err != nil {
		return Link{}, err
	}
	key := Normalize(name)
	for attempt := 0; ; attempt++ {
		l, v, action, err := s.update(ctx, p, key, in)
		if ErrorCode(err) == Stale && in.IfMatch == nil {
			if attempt < staleRetries {
				continue
			}
			err = busyErr(name)
		}
		if err != nil {
			return Link{}, err
		}
		if action == "" { // nothing changed
			return l, nil
		}
		s.logChange(p.User, action, l)
		keys := []string{key}
		if l.Key != key {
			keys = append(keys, l.Key)
		}
		err = s.publish(ctx, v, &l, keys...)
		if err == nil && in.LeaveAlias && l.Key != key {
			err = s.leaveAlias(ctx, p, name, l)
		}
		return s.Index.WithPending(l), err
	}
}

// leaveAlias creates, after l was renamed from old, an alias under the old
// name: of l, or of l's target when l is an alias (no chains). It is a
// change of its own, after the rename's: if it fails, the rename stands
// and the error says so.
func (s *Service) leaveAlias(ctx context.Context, p Principal, old string, l Link) error {
	target := l.Name
	if l.IsAlias() {
		target = l.AliasOf
	}
	owner := l.Owner
	if _, err := s.Create(ctx, p, Input{Name: &old, AliasOf: &target, Owner: &owner}); err != nil {
		return Wrap(err, ErrorCode(err), fmt.Sprintf("go/%s was renamed to go/%s, but no alias was left under the old name: %s", old, l.Name, ErrorMessage(err)))
	}
	return nil
}

// update returns the link written, the link-set version it committed as
// (0 when unknown), and the action; no action when nothing changed.
func (s *Service) update(ctx context.Context, p Principal, key string, in Input) (Link, int64, Action, error) {
	cur, err := s.Store.Get(ctx, key)
	if err != nil {
		return Link{}, 0, "", err
	}
	if err := s.MayEdit(p, cur); err != nil {
		return Link{}, 0, "", err
	}
	l := cur
	if err := apply(&l, in); err != nil {
		return Link{}, 0, "", err
	}
	l.Name = strings.TrimSpace(l.Name)
	l.Key = Normalize(l.Name)
	if s.Enforce && cur.Owner == "" && in.Owner == nil {
		// As golink does: editing an unowned link claims it.
		l.Owner = p.User
	}
	if l.Owner != cur.Owner {
		if err := s.mayGive(p, cur, l.Owner); err != nil {
			return Link{}, 0, "", inField("owner", err)
		}
	}
	if _, err := Validate(l); err != nil {
		return Link{}, 0, "", err
	}
	// The version the write expects: the one read, or the one the caller
	// saw. The database compares it in the UPDATE's WHERE.
	l.ID, l.Version = cur.ID, cur.Version
	if in.IfMatch != nil {
		want := in.IfMatch[0]
		for _, r := range in.IfMatch {
			if r == cur.Rev() {
				want = r
			}
		}
		l.ID, l.Version = want.ID, want.Version
	}
	if SameValues(l, cur) {
		if l.Rev() != cur.Rev() {
			return Link{}, 0, "", staleErr(cur)
		}
		return cur, 0, "", nil // nothing to record
	}
	action := in.action
	switch {
	case action != "":
	case l.Name != cur.Name:
		action = ActionRename
	default:
		action = ActionUpdate
	}
	l.UpdatedAt = s.now()
	wctx, cancel := s.writeCtx(ctx, 1)
	defer cancel()
	got, v, err := s.Store.Update(WithEdit(wctx, Edit{Actor: p.User, Action: action}), key, l)
	if ErrorCode(err) == Conflict {
		return Link{}, 0, "", inField("name", err) // renamed to a name that is taken
	}
	if err != nil {
		// Only a write that was at the version it expected can have
		// committed: the stored link is then its next version.
		c, ok := s.committed(ctx, wctx, err, l.Key, func(c Link, err error) bool {
			return err == nil && c.ID == l.ID && c.Version == l.Version+1 && SameValues(c, l) && c.UpdatedAt.Equal(l.UpdatedAt)
		})
		if !ok {
			return Link{}, 0, "", err
		}
		got, v = c, 0
	}
	return got, v, action, nil
}

// aliasedErr refuses to delete a link that aliases lead to: they would
// lead nowhere. (The store refuses it too, in its transaction.)
func aliasedErr(cur Link) error {
	names := cur.Aliases
	more := ""
	if len(names) > 10 {
		names, more = names[:10], fmt.Sprintf(" and %d more", len(cur.Aliases)-10)
	}
	return Errorf(Conflict, "go/%s has aliases (go/%s%s); delete them or make them aliases of another link first",
		cur.Name, strings.Join(names, ", go/"), more)
}

// busyErr is what a write without a precondition says when other writes
// kept overtaking it: worth a retry (503), not a precondition that failed.
func busyErr(name string) error {
	return Errorf(Unavailable, "go/%s is being changed by others right now; try again", name)
}

func staleErr(cur Link) error {
	return Errorf(Stale, "go/%s was changed since that version was read; it is now at version %d", cur.Name, cur.Version)
}

// Delete removes the link called name; with ifMatch, only if it is still
// at one of those versions.
func (s *Service) Delete(ctx context.Context, p Principal, name string, ifMatch ...Rev) error {
	defer s.Index.Writing()()
	if err := s.mayWrite(p); err != nil {
		return err
	}
	key := Normalize(name)
	for attempt := 0; ; attempt++ {
		cur, err := s.Store.Get(ctx, key)
		if err != nil {
			return err
		}
		if err := s.MayEdit(p, cur); err != nil {
			return err
		}
		if len(cur.Aliases) > 0 {
			return aliasedErr(cur)
		}
		// As in Update: the permission was decided on the version read,
		// so the delete is conditional on it.
		match := []Rev{cur.Rev()}
		if ifMatch != nil {
			match = ifMatch
		}
		wctx, cancel := s.writeCtx(ctx, 1)
		v, err := s.Store.Delete(WithEdit(wctx, Edit{Actor: p.User, Action: ActionDelete, At: s.now()}), key, match...)
		if err != nil && ErrorCode(err) != Stale {
			if _, ok := s.committed(ctx, wctx, err, key, func(_ Link, err error) bool { return ErrorCode(err) == NotFound }); ok {
				err, v = nil, 0
			}
		}
		cancel()
		if ErrorCode(err) == Stale && ifMatch == nil {
			if attempt < staleRetries {
				continue
			}
			err = busyErr(name)
		}
		if err != nil {
			return err
		}
		s.logChange(p.User, ActionDelete, cur)
		return s.publish(ctx, v, nil, key)
	}
}

// Restore puts back the values the link called name had at version: an
// update of a live link (the rules of Update apply), or, when name is a
// deleted link, the link itself, under its old ID, when p may edit the
// deleted link and give it to the version's owner (the rules of Update).
// Clicks of a deleted link are not kept.
func (s *Service) Restore(ctx context.Context, p Principal, name string, version int64) (Link, error) {
	defer s.Index.Writing()()
	if err := s.mayWrite(p); err != nil {
		return Link{}, err
	}
	key := Normalize(name)
	cur, err := s.Store.Get(ctx, key)
	switch ErrorCode(err) {
	case "":
		v, err := s.valuesAt(ctx, cur.ID, cur.Name, version)
		if err != nil {
			return Link{}, err
		}
		tags := v.Tags
		return s.Update(ctx, p, cur.Name, Input{Name: &v.Name, URL: &v.URL, Description: &v.Description,
			Owner: &v.Owner, Tags: &tags, AliasOf: &v.AliasOf, action: ActionRestore})
	case NotFound:
	default:
		return Link{}, err
	}
	del, err := s.lastDeleted(ctx, key)
	if err != nil {
		return Link{}, err
	}
	gone := linkOf(*del.Before)
	gone.Key = del.Key
	if err := s.MayEdit(p, gone); err != nil {
		return Link{}, err
	}
	v, err := s.valuesAt(ctx, del.LinkID, del.Name, version)
	if err != nil {
		return Link{}, err
	}
	l := linkOf(v)
	if l.Owner != gone.Owner {
		if err := s.mayGive(p, gone, l.Owner); err != nil {
			return Link{}, err
		}
	}
	if _, err := Validate(l); err != nil {
		return Link{}, Errorf(Invalid, "version %d of go/%s cannot come back: %s", version, del.Name, ErrorMessage(err))
	}
	l.ID, l.Version = del.LinkID, del.Version+1
	l.UpdatedAt = s.now()
	if l.CreatedAt.IsZero() {
		l.CreatedAt = l.UpdatedAt
	}
	wctx, cancel := s.writeCtx(ctx, 1)
	defer cancel()
	want := l
	var ver int64
	l, ver, err = s.Store.Create(WithEdit(wctx, Edit{Actor: p.User, Action: ActionRestore}), want)
	if err != nil {
		c, ok := s.committed(ctx, wctx, err, want.Key, func(c Link, err error) bool {
			return err == nil && c.ID == want.ID && c.Version == want.Version && c.UpdatedAt.Equal(want.UpdatedAt)
		})
		if !ok {
			return Link{}, err
		}
		l, ver = c, 0
	}
	s.logChange(p.User, ActionRestore, l)
	err = s.publish(ctx, ver, &l, l.Key)
	return s.Index.WithPending(l), err
}

// valuesAt returns what version of link id held: the values its change
// recorded, or, for a version from before history was kept (or pruned),
// the "before" of the change that followed it.
func (s *Service) valuesAt(ctx context.Context, id int64, name string, version int64) (Values, error) {
	cs, err := s.Store.Changes(ctx, ChangeQuery{LinkID: id, Version: version, Limit: 1})
	if err != nil {
		return Values{}, err
	}
	if len(cs) == 1 {
		if cs[0].After == nil {
			return Values{}, Errorf(Invalid, "version %d of go/%s is its deletion; restore an earlier one", version, name)
		}
		return *cs[0].After, nil
	}
	next, err := s.Store.Changes(ctx, ChangeQuery{LinkID: id, Version: version + 1, Limit: 1})
	if err != nil {
		return Values{}, err
	}
	if len(next) == 1 && next[0].Before != nil {
		return *next[0].Before, nil
	}
	return Values{}, Errorf(NotFound, "go/%s has no version %d in its history", name, version)
}

func (s *Service) lastDeleted(ctx context.Context, key string) (Change, error) {
	ds, err := s.Store.Deleted(ctx, DeletedQuery{Key: key, Limit: 1})
	if err != nil {
		return Change{}, err
	}
	if len(ds) == 0 || ds[0].Before == nil {
		return Change{}, Errorf(NotFound, "link %q not found, and no deleted link of that name either", key)
	}
	return ds[0], nil
}

func linkOf(v Values) Link {
	tags, _ := NormalizeTags(v.Tags)
	return Link{Name: v.Name, Key: Normalize(v.Name), URL: v.URL, Description: v.Description, Owner: v.Owner,
		Tags: tags, CreatedAt: v.CreatedAt, AliasOf: v.AliasOf}
}

// History returns the changes of the link called name, or of the deleted
// link that last had that name, with q's paging (q.LinkID is set here):
// readable by whoever may read the link.
func (s *Service) History(ctx context.Context, p Principal, name string, q ChangeQuery) ([]Change, error) {
	if err := s.MayRead(p); err != nil {
		return nil, err
	}
	key := Normalize(name)
	cur, err := s.Store.Get(ctx, key)
	switch ErrorCode(err) {
	case "":
		q.LinkID = cur.ID
	case NotFound:
		del, err := s.lastDeleted(ctx, key)
		if err != nil {
			return nil, err
		}
		q.LinkID = del.LinkID
	default:
		return nil, err
	}
	return s.Store.Changes(ctx, q)
}

// MayReadAudit decides who may read the audit log (every change of every
// link). With ownership off (AUTH_MODE=none) there are no identities and
// everyone may edit anything, so everyone who may read links may read it.
// With ownership on, only admins (through a token: one with the admin
// scope) may; each link's own history stays readable like the link.
func (s *Service) MayReadAudit(p Principal) error {
	if err := s.MayRead(p); err != nil {
		return err
	}
	if !s.Enforce || p.IsAdmin() {
		return nil
	}
	if p.Anonymous() {
		return Errorf(Unauthorized, "sign in as an administrator to read the audit log; each link's history is on its page")
	}
	msg := "the audit log is for administrators (ADMINS, ADMIN_GROUPS); each link's history is on its page"
	if p.Admin {
		msg += " (this token lacks the admin scope)"
	}
	return &Error{Code: Forbidden, Message: msg}
}

// Deleted lists deleted links (each one's last deletion), for whoever may
// read links.
func (s *Service) Deleted(ctx context.Context, p Principal, q DeletedQuery) ([]Change, error) {
	if err := s.MayRead(p); err != nil {
		return nil, err
	}
	return s.Store.Deleted(ctx, q)
}

// Audit returns the changes of every link that q selects, for those
// MayReadAudit lets in.
func (s *Service) Audit(ctx context.Context, p Principal, q ChangeQuery) ([]Change, error) {
	if err := s.MayReadAudit(p); err != nil {
		return nil, err
	}
	return s.Store.Changes(ctx, q)
}

func (s *Service) logChange(actor string, a Action, l Link) {
	if s.Log != nil {
		s.Log.Info("link changed", "actor", actor, "action", string(a), "link", l.Name, "version", l.Version)
	}
}

// publishTimeout bounds the re-read after a commit.
const publishTimeout = 5 * time.Second

// publish shows a committed change, at link-set version v, in the index:
// keys are re-read from the store, even when the client has gone away
// meanwhile, and the index learns that it holds v (0: the version is not
// known, as for a write settled by committed, and none is claimed). If the
// store cannot be read just then, what was written is published as it is
// (written, or nothing for a delete, and the other keys removed), and v is
// not claimed: a concurrent write by another replica is then repaired by
// its notification or the next resync.
func (s *Service) publish(ctx context.Context, v int64, written *Link, keys ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if s.Index.Refresh(ctx, s.Store, keys...) == nil {
		if v > 0 {
			s.Index.Published(v)
		}
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
// for every line: a link p may not edit refuses the whole import, and the
// importer owns what it imports, except that a line's owner (or an
// existing link's) that is p's user or one of p's groups is kept. An
// admin's import keeps the owners in the file, as `signpost import` on the
// database does. Unless opt.Stats, the clicks and times in ls are not
// taken: links that exist keep theirs, new ones start at 0 clicks, created
// now. Only an admin may ask for opt.Stats (with ownership off there are
// none: only `signpost import` sets them).
func (s *Service) Import(ctx context.Context, p Principal, ls iter.Seq2[Link, error], opt ImportOptions) (int, error) {
	if err := s.mayWrite(p); err != nil {
		return 0, err
	}
	if opt.Stats {
		if err := s.MayImportStats(p); err != nil {
			return 0, err
		}
	}
	ctx, cancel := s.writeCtx(ctx, 4)
	defer cancel()
	var owners map[string]string
	check := s.Enforce && !p.IsAdmin()
	if check {
		owners = map[string]string{}
		err := s.Store.Each(ctx, func(l Link) error {
			if l.Owner != "" {
				owners[l.Key] = l.Owner
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	now := s.now()
	n := 0
	err := s.Store.Import(WithEdit(ctx, Edit{Actor: p.User, Action: ActionImport}), func(yield func(Link, error) bool) {
		for l, err := range ls {
			if err == nil && check {
				cur, exists := owners[l.Key]
				switch {
				case exists && !p.Owns(cur):
					err = Errorf(Forbidden, "link %q belongs to %s; only %s may change it, so nothing was imported", l.Name, cur, whoMay(cur))
				case p.Owns(l.Owner):
				case exists:
					l.Owner = cur
				default:
					l.Owner = p.User
				}
			}
			if err == nil && !opt.Stats {
				l.Clicks, l.LastClickedAt, l.CreatedAt, l.UpdatedAt = 0, time.Time{}, now, now
			}
			if err == nil {
				n++
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}, opt)
	if err != nil {
		return 0, err
	}
	// One line for the import; each link it changed has its own entry in
	// the history.
	if s.Log != nil {
		s.Log.Info("links imported", "actor", p.User, "action", string(ActionImport), "links", n)
	}
	// Committed: reload even if the client has gone meanwhile.
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), 4*publishTimeout)
	defer lcancel()
	return n, s.Index.Load(lctx, s.Store)
}

// MayImportStats reports whether p may import click counts and times
// (ImportOptions.Stats): only an admin (through a token: one with the
// admin scope) may, as they rewrite what everyone sees of every link.
func (s *Service) MayImportStats(p Principal) error {
	if p.IsAdmin() {
		return nil
	}
	msg := "only admins may import click counts and times"
	if p.Admin {
		msg += " (this token lacks the admin scope)"
	}
	return &Error{Code: Forbidden, Message: msg + "; import without them (no stats=true), or run `signpost import` on the database"}
}

func apply(l *Link, in Input) error {
	if in.Tags != nil {
		tags, err := NormalizeTags(*in.Tags)
		if err != nil {
			return inField("tags", err)
		}
		l.Tags = tags
	}
	if in.Name != nil {
		l.Name = *in.Name
	}
	if in.URL != nil {
		l.URL = strings.TrimSpace(*in.URL)
	}
	if in.AliasOf != nil {
		l.AliasOf = strings.TrimSpace(*in.AliasOf)
	}
	// An alias has no URL: one given alone ends the alias, an alias given
	// alone drops the URL (both given: Validate refuses).
	switch {
	case in.AliasOf != nil && l.AliasOf != "" && in.URL == nil:
		l.URL = ""
	case in.URL != nil && l.URL != "" && in.AliasOf == nil:
		l.AliasOf = ""
	}
	if l.AliasOf == "" {
		l.AliasURL = ""
	}
	if in.Description != nil {
		l.Description = strings.TrimSpace(*in.Description)
	}
	if in.Owner != nil {
		l.Owner = strings.TrimSpace(*in.Owner)
	}
	return nil
}

// DailyClicks returns the link name and its clicks on each UTC day from
// from to to, oldest first, days without clicks as zero. The clicks
// counted but not yet flushed are on the day of the latest click, as the
// flush will write them.
func (s *Service) DailyClicks(ctx context.Context, p Principal, name string, from, to Day) (Link, []DayClicks, error) {
	if err := s.MayRead(p); err != nil {
		return Link{}, nil, err
	}
	stored, err := s.Store.Get(ctx, Normalize(name))
	if err != nil {
		return Link{}, nil, err
	}
	days, err := s.Store.DailyClicks(ctx, stored.ID, from, to)
	if err != nil {
		return Link{}, nil, err
	}
	l := s.Index.WithPending(stored)
	series := Series(days, from, to)
	if n := l.Clicks - stored.Clicks; n > 0 {
		if d := DayOf(l.LastClickedAt); d >= from && d <= to {
			series[d-from].Clicks = SumClicks(series[d-from].Clicks, n)
		}
	}
	return l, series, nil
}

// ImportClicks sets the click totals (and last clicks, see WithClicks)
// of the stored links that totals name, in one transaction, without new
// versions or history entries (clicks are not history). Names that no
// link has are left out: unknown counts them. Only admins may, as for any
// import of counts (MayImportStats).
func (s *Service) ImportClicks(ctx context.Context, p Principal, totals map[string]ClickTotal) (applied, unknown int, err error) {
	if err := s.mayWrite(p); err != nil {
		return 0, 0, err
	}
	if err := s.MayImportStats(p); err != nil {
		return 0, 0, err
	}
	ctx, cancel := s.writeCtx(ctx, 4)
	defer cancel()
	applied, unknown, err = ImportClicks(WithEdit(ctx, Edit{Actor: p.User, Action: ActionImport}), s.Store, totals)
	if err != nil {
		return 0, 0, err
	}
	if s.Log != nil {
		s.Log.Info("click counts imported", "actor", p.User, "action", string(ActionImport), "links", applied, "unknown", unknown)
	}
	return applied, unknown, nil
}

// Aliases is the AliasLookup of an import into s (ScanNDJSONWith).
func (s *Service) Aliases(ctx context.Context) AliasLookup { return LookupAliases(ctx, s.Store) }

// LookupAliases is the AliasLookup of an import into st: it reads the
// stored links an import's aliases name (outside the import's
// transaction, so it needs a second connection).
func LookupAliases(ctx context.Context, st Store) AliasLookup {
	return func(key string) (string, bool, error) {
		l, err := st.Get(ctx, key)
		switch ErrorCode(err) {
		case "":
			return l.AliasOf, true, nil
		case NotFound:
			return "", false, nil
		}
		return "", false, err
	}
}
