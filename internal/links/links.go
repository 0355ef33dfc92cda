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
	// Name is the name as its author typed it (go/Foo-Bar).
	Name string
	// Key is Normalize(Name): what lookups compare (foobar).
	Key           string
	URL           string
	Description   string
	Owner         string
	Clicks        int64
	LastClickedAt time.Time // zero when never clicked
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Click is the number of redirects a link served since the last flush.
type Click struct {
	Key  string
	N    int64
	Last time.Time
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
			out = append(out, c)
			continue
		}
		out[i].N += c.N
		if c.Last.After(out[i].Last) {
			out[i].Last = c.Last
		}
	}
	return out
}

// Sort orders a List.
type Sort string

const (
	SortName    Sort = "name"
	SortPopular Sort = "popular" // most clicks first
	SortRecent  Sort = "recent"  // most recently updated first
)

// ListOptions selects links for List.
type ListOptions struct {
	// Query matches names (by key), URLs and descriptions, case-insensitively.
	Query string
	Sort  Sort
	// Limit is the maximum number of links; 0 means all.
	Limit int
}

// Store keeps links. Every backend must pass storetest.Run unchanged.
//
// Writes return Unavailable when the database cannot be reached, NotFound
// for a missing key and Conflict for a duplicate key. Create, Update and
// Delete also return the link-set version (see Version) their change
// committed as, so that the index that publishes the change knows it holds
// that version and needs no reload for it.
type Store interface {
	Get(ctx context.Context, key string) (Link, error)
	List(ctx context.Context, opt ListOptions) ([]Link, error)
	// Each calls fn for every link in key order, streaming: the whole set
	// is never held in memory.
	Each(ctx context.Context, fn func(Link) error) error
	// Targets calls fn with every link's key and URL, streaming, in no
	// particular order: what the in-memory index loads, read without the
	// columns and the ordering it does not need.
	Targets(ctx context.Context, fn func(key, url string) error) error
	// Create stores a new link; Conflict when its key exists.
	Create(ctx context.Context, l Link) (Link, int64, error)
	// Update replaces name, URL, description, owner and updated time of
	// the link stored under key. l.Key may differ from key (a rename);
	// Conflict when l.Key belongs to another link.
	Update(ctx context.Context, key string, l Link) (Link, int64, error)
	Delete(ctx context.Context, key string) (int64, error)
	// Import upserts every link by key in one transaction: all or nothing.
	// It streams: the links are read from ls as they are written (an
	// error from ls rolls everything back), never held all at once.
	Import(ctx context.Context, ls iter.Seq2[Link, error]) error
	// AddClicks adds each count to its link atomically (clicks = clicks + n)
	// in one transaction (one batch of a flush); keys that no longer exist
	// are ignored.
	AddClicks(ctx context.Context, cs []Click) error
	// Version is a counter that every committed change of the link set
	// (not clicks) increases, by one for each Create, Update and Delete;
	// replicas compare it to decide on a resync.
	Version(ctx context.Context) (int64, error)
	// SchemaVersion is the applied migration version.
	SchemaVersion(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
	Close() error
}
