// Package links is Signpost's domain: what a link is, how names are
// normalised, which targets are acceptable, how a target expands into a
// redirect, the error codes every layer shares, and the Store interface that
// storage backends implement. It imports no transport and no driver.
package links

import (
	"context"
	"iter"
	"time"
)

// Link is one go/link: a name and the URL it leads to.
type Link struct {
	// ID identifies the link for good: it survives renames, and a deleted
	// link that is restored gets it back. 0 until the link is stored.
	ID int64
	// Name is the name as its author typed it (go/Foo-Bar).
	Name string
	// Key is Normalize(Name): what lookups compare (foobar).
	Key string
	// URL is the link's target; "" for an alias.
	URL string
	// AliasOf, when set, makes the link an alias: it leads where the link
	// of that name leads, with the same path and query pass-through.
	// Stored as the target's ID, so that it follows the target's renames;
	// read back as the target's current name. An alias has no URL of its
	// own, and its target is never an alias itself (no chains, no cycles).
	AliasOf string
	// AliasURL is the URL of the link AliasOf names, read with an alias
	// (never written): what the index serves for it.
	AliasURL string
	// Aliases are the names of the links that are aliases of this one,
	// in key order; only Get fills it in.
	Aliases     []string
	Description string
	Owner       string
	// Tags are the link's labels in canonical form (see NormalizeTags):
	// sorted, unique, lower case, separated by single spaces.
	Tags string
	// Version counts the changes of the link (not its clicks): 1 when
	// created, one more with every update. With ID it is the link's ETag.
	Version       int64
	Clicks        int64
	LastClickedAt time.Time // zero when never clicked
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// RecentClicks are the clicks of the last RecentDays days; only a
	// List sorted by SortRecentClicks sets it.
	RecentClicks int64
}

// IsAlias reports whether l is an alias of another link.
func (l Link) IsAlias() bool { return l.AliasOf != "" }

// Served is the URL the index serves for l: its own, or for an alias
// its target's.
func (l Link) Served() string {
	if l.IsAlias() {
		return l.AliasURL
	}
	return l.URL
}

// MaxClicks is the largest click count stored: imports refuse more, and
// adding clicks saturates there instead of overflowing (SQLite would turn
// the sum into a REAL, PostgreSQL refuse the whole flush). 10^15 is exact
// in a float64, so JSON readers see it unchanged too.
const MaxClicks = 1_000_000_000_000_000

// Times outside [MinTime, MaxTime) are refused on import: both backends
// and every JSON reader represent them exactly.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// SumClicks returns a + b, saturated at MaxClicks (and never below 0).
func SumClicks(a, b int64) int64 {
	a, b = max(a, 0), max(b, 0)
	if a >= MaxClicks || b >= MaxClicks-a {
		return MaxClicks
	}
	return a + b
}

// Click is the number of redirects a link served since the last flush.
type Click struct {
	Key  string
	N    int64
	Last time.Time
}

// Day is a UTC calendar day, counted from 1970-01-01 (day 0): how the
// daily click counts are keyed.
type Day int64

// DayOf is the UTC day of t.
func DayOf(t time.Time) Day {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return Day(d)
}

const secondsPerDay = 24 * 60 * 60

// Time is the start (00:00 UTC) of d.
func (d Day) Time() time.Time { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }

// String is d as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// DayClicks is one day's clicks of one link.
type DayClicks struct {
	Day    Day
	Clicks int64
}

// LinkDayClicks is one day's clicks of the link with ID LinkID.
type LinkDayClicks struct {
	LinkID int64
	DayClicks
}

// RecentDays is the window of SortRecentClicks; StaleAfter how long a
// link goes unused before the directory lists it as stale.
const (
	RecentDays = 30
	StaleAfter = 180 * 24 * time.Hour
)

// Series returns the clicks of each day from from to to, oldest first,
// with the days that have none in cs (sorted by day) as zero.
func Series(cs []DayClicks, from, to Day) []DayClicks {
	if to < from {
		return nil
	}
	out := make([]DayClicks, 0, to-from+1)
	i := 0
	for d := from; d <= to; d++ {
		for i < len(cs) && cs[i].Day < d {
			i++
		}
		n := int64(0)
		if i < len(cs) && cs[i].Day == d {
			n = cs[i].Clicks
		}
		out = append(out, DayClicks{Day: d, Clicks: n})
	}
	return out
}

// MergeClicks sums the counts of repeated keys, keeping the latest time,
// so that a backend can apply a batch as one statement with one row per key.
func MergeClicks(cs []Click) []Click {
	at := make(map[string]int, len(cs))
	out := make([]Click, 0, len(cs))
	for _, c := range cs {
		i, ok := at[c.Key]
		if !ok {
			at[c.Key] = len(out)
			c.N = SumClicks(0, c.N)
			out = append(out, c)
			continue
		}
		out[i].N = SumClicks(out[i].N, c.N)
		if c.Last.After(out[i].Last) {
			out[i].Last = c.Last
		}
	}
	return out
}

// Sort orders a List. Each sort has one direction and ties are broken by
// key, so that a Cursor names a place in it exactly.
type Sort string

const (
	SortName        Sort = "name"         // by key
	SortClicks      Sort = "clicks"       // most clicks first
	SortLastUsed    Sort = "last_used"    // most recently clicked first, never clicked last
	SortLastChanged Sort = "last_changed" // most recently updated first
	// SortRecentClicks: most clicks in the RecentDays days up to
	// ListOptions.Today first (Link.RecentClicks holds the count).
	SortRecentClicks Sort = "clicks_30d"

	// The names the API first had for two of them.
	SortPopular = SortClicks
	SortRecent  = SortLastChanged
)

// ParseSort returns the Sort a name (or an older alias) means.
func ParseSort(s string) (Sort, bool) {
	switch s {
	case "", "name":
		return SortName, true
	case "clicks", "popular":
		return SortClicks, true
	case "last_used":
		return SortLastUsed, true
	case "last_changed", "recent":
		return SortLastChanged, true
	case "clicks_30d":
		return SortRecentClicks, true
	}
	return "", false
}

// ListOptions selects links for List and Count.
type ListOptions struct {
	// Query matches names (by key), URLs and descriptions, case-insensitively.
	Query string
	// Tags: only links that carry every one of them.
	Tags []string
	// Owner: only links this owner owns (exactly, in any case): the
	// directory's owner filter.
	Owner string
	// Owners, when set, selects links owned by any of them (search terms
	// owner:NAME and owner:me).
	Owners []string
	// UnusedBefore, when set, selects the links nobody clicked since
	// then: last clicked before it, or never clicked and created before
	// it (the stale links).
	UnusedBefore time.Time
	Sort         Sort
	// Today is the UTC day SortRecentClicks counts back from (the
	// caller's clock, so that tests can set it).
	Today Day
	// Limit is the maximum number of links; 0 means all.
	Limit int
	// After, when set, starts the list right after the link it names in
	// this Sort: the next page.
	After *Cursor
}

// Cursor is a place in a sorted list: the sort value and key of the last
// link of a page.
type Cursor struct {
	Key    string
	Clicks int64     // SortClicks, SortRecentClicks
	At     time.Time // SortLastUsed (zero: never clicked) and SortLastChanged
}

// CursorAfter returns the Cursor that continues a list in sort s after l.
func CursorAfter(s Sort, l Link) Cursor {
	c := Cursor{Key: l.Key, Clicks: l.Clicks}
	switch s {
	case SortRecentClicks:
		c.Clicks = l.RecentClicks
	case SortLastUsed:
		c.At = l.LastClickedAt
	case SortLastChanged:
		c.At = l.UpdatedAt
	}
	return c
}

// ImportOptions say what an import may set besides names, targets,
// descriptions and owners.
type ImportOptions struct {
	// Stats: store the clicks, last click and creation time of each link
	// as given. Without it, links that exist keep theirs and new ones are
	// stored with what the caller set (Service.Import: none, and now).
	Stats bool
}

// Store keeps links. Every backend must pass storetest.Run unchanged.
//
// Writes return Unavailable when the database cannot be reached, NotFound
// for a missing key and Conflict for a duplicate key. Create, Update and
// Delete also return the link-set version (see Version) their change
// committed as, so that the index that publishes the change knows it holds
// that version and needs no reload for it.
//
// Every write (Create, Update, Delete, Import) records what it changed in
// the link's history in the same transaction, with the actor, action and
// time of EditOf(ctx).
type Store interface {
	Get(ctx context.Context, key string) (Link, error)
	List(ctx context.Context, opt ListOptions) ([]Link, error)
	// Count is the number of links List would return without Limit and After.
	Count(ctx context.Context, opt ListOptions) (int, error)
	// Each calls fn for every link in key order, streaming: the whole set
	// is never held in memory.
	Each(ctx context.Context, fn func(Link) error) error
	// Targets calls fn with every link's key and URL, streaming, in no
	// particular order: what the in-memory index loads, read without the
	// columns and the ordering it does not need.
	Targets(ctx context.Context, fn func(key, url string) error) error
	// Create stores a new link at version 1 under a new ID; Conflict when
	// its key exists. A link with ID set is a deleted link coming back:
	// it keeps that ID and l.Version.
	Create(ctx context.Context, l Link) (Link, int64, error)
	// Update replaces name, URL, description, owner, tags and updated
	// time of the link stored under key, and increases its version. l.Key
	// may differ from key (a rename); Conflict when l.Key belongs to
	// another link. When l.ID is set, the update happens only if the
	// stored link still has l.ID and l.Version (the database checks it in
	// the UPDATE's WHERE); otherwise Stale.
	Update(ctx context.Context, key string, l Link) (Link, int64, error)
	// Delete removes the link stored under key. With match, only if the
	// link still has one of those IDs and versions; otherwise Stale.
	Delete(ctx context.Context, key string, match ...Rev) (int64, error)
	// Import upserts every link by key in one transaction: all or nothing.
	// It streams: the links are read from ls as they are written (an
	// error from ls rolls everything back), never held all at once.
	// A link whose name, URL, description, owner or tags change gets a new
	// version and a history entry; one that only gets other clicks or
	// times gets neither.
	Import(ctx context.Context, ls iter.Seq2[Link, error], opt ImportOptions) error
	// AddClicks adds each count to its link atomically (clicks = clicks + n,
	// saturated at MaxClicks) and to the link's clicks of the UTC day of
	// its Last (DayOf), in one transaction (one batch of a flush); keys
	// that no longer exist are ignored.
	AddClicks(ctx context.Context, cs []Click) error
	// DailyClicks returns the link's clicks per day from from to to
	// (inclusive), oldest first, leaving out days without clicks.
	DailyClicks(ctx context.Context, linkID int64, from, to Day) ([]DayClicks, error)
	// SetDailyClicks stores each count as its link's clicks of its day,
	// replacing what that day had, in one transaction: an import's days
	// (ImportClicks).
	SetDailyClicks(ctx context.Context, cs []LinkDayClicks) error
	// PruneClicks removes the daily counts of days before before, in
	// bounded batches, and says how many rows went.
	PruneClicks(ctx context.Context, before Day) (int64, error)
	// Changes lists history entries, oldest first (q.Desc: newest first).
	Changes(ctx context.Context, q ChangeQuery) ([]Change, error)
	// Deleted lists the deletions of links that have not come back,
	// newest first.
	Deleted(ctx context.Context, q DeletedQuery) ([]Change, error)
	// PruneHistory removes history entries older than before, in bounded
	// batches, and says how many went.
	PruneHistory(ctx context.Context, before time.Time) (int64, error)
	// Version is a counter that every committed change of the link set
	// (not clicks) increases, by one for each Create, Update and Delete;
	// replicas compare it to decide on a resync.
	Version(ctx context.Context) (int64, error)
	// SchemaVersion is the applied migration version.
	SchemaVersion(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
	Close() error
}
