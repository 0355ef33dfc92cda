package links

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Action is what a change did to a link.
type Action string

const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionRename  Action = "rename" // an update that changed the name
	ActionDelete  Action = "delete"
	ActionRestore Action = "restore" // an earlier version put back, or a deleted link brought back
	ActionImport  Action = "import"
)

// Edit says who makes a change and why. The service puts it on the
// context of every write (WithEdit); the store records it in the history
// entry it writes in the same transaction.
type Edit struct {
	Actor string // the user; "" when anonymous (AUTH_MODE=none)
	// Action overrides the one the store method implies (create, update
	// or rename, delete, import), as a restore does.
	Action Action
	// At is the time of a delete; writes of a link use its UpdatedAt.
	At time.Time
}

type editKey struct{}

// WithEdit returns ctx carrying e for the store's history entry.
func WithEdit(ctx context.Context, e Edit) context.Context {
	return context.WithValue(ctx, editKey{}, e)
}

// EditOf returns the Edit on ctx, or the zero Edit.
func EditOf(ctx context.Context) Edit {
	e, _ := ctx.Value(editKey{}).(Edit)
	return e
}

// Rev names one version of one link: what an ETag carries and a
// conditional write expects.
type Rev struct{ ID, Version int64 }

// Rev returns the link's ID and version.
func (l Link) Rev() Rev { return Rev{l.ID, l.Version} }

// String is the ETag's opaque value, "12.3".
func (r Rev) String() string {
	return strconv.FormatInt(r.ID, 10) + "." + strconv.FormatInt(r.Version, 10)
}

// ParseRev reads what String wrote. ok is false for anything else.
func ParseRev(s string) (r Rev, ok bool) {
	id, v, found := strings.Cut(s, ".")
	if !found {
		return Rev{}, false
	}
	var err1, err2 error
	r.ID, err1 = strconv.ParseInt(id, 10, 64)
	r.Version, err2 = strconv.ParseInt(v, 10, 64)
	if err1 != nil || err2 != nil || r.ID <= 0 || r.Version <= 0 {
		return Rev{}, false
	}
	return r, true
}

// Values are the fields of a link a change records: what the history
// shows and what a restore puts back. (Clicks are not history.)
type Values struct {
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	Owner       string    `json:"owner"`
	Tags        []string  `json:"tags"`
	CreatedAt   time.Time `json:"created_at"`
	// AliasOf is the name of the link this one was an alias of, then.
	AliasOf string `json:"alias_of,omitempty"`
}

// ValuesOf returns l's recorded fields.
func ValuesOf(l Link) Values {
	return Values{Name: l.Name, URL: l.URL, Description: l.Description, Owner: l.Owner,
		Tags: TagList(l.Tags), CreatedAt: l.CreatedAt, AliasOf: l.AliasOf}
}

// SameValues reports whether a and b have the same recorded fields, that
// is whether going from one to the other is a change worth a version.
func SameValues(a, b Link) bool {
	return a.Name == b.Name && a.Key == b.Key && a.URL == b.URL && a.Description == b.Description &&
		a.Owner == b.Owner && a.Tags == b.Tags && Normalize(a.AliasOf) == Normalize(b.AliasOf)
}

// Change is one entry of a link's history.
type Change struct {
	Seq     int64 // increases with every change of any link: the audit log's order
	LinkID  int64
	Version int64 // the link's version after the change (a delete has one too)
	Action  Action
	Actor   string
	At      time.Time
	// Key and Name are the link's after the change (before it, for a delete).
	Key, Name string
	// Before is nil for a create, After for a delete.
	Before, After *Values
}

// ChangeQuery selects history entries.
type ChangeQuery struct {
	LinkID  int64     // 0: every link (the audit log)
	Version int64     // 0: every version
	Since   time.Time // only changes at or after
	After   int64     // only Seq > After
	Before  int64     // only Seq < Before (0: no bound)
	Desc    bool      // newest first
	Limit   int       // 0: all
}

// DeletedQuery selects the deletions Deleted lists.
type DeletedQuery struct {
	Key    string // only deletions of this key ("" any)
	Before int64  // only Seq < Before (0: no bound)
	Limit  int    // 0: all
}
