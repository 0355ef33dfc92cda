package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// strictQuery returns r's query parameters, refusing any not in allowed
// and repeats of any but tag, as unknown JSON fields are refused: a
// misspelt parameter (or offset=) must not be silently ignored.
func strictQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, links.Errorf(links.Invalid, "query string is malformed: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch {
		case k == "offset" && slices.Contains(allowed, "cursor"):
			return nil, links.Errorf(links.Invalid, "offset is not supported: pass cursor, the next value of the previous page")
		case !slices.Contains(allowed, k) && len(allowed) == 0:
			return nil, links.Errorf(links.Invalid, "unknown query parameter %q; %s takes none", k, r.URL.Path)
		case !slices.Contains(allowed, k):
			return nil, links.Errorf(links.Invalid, "unknown query parameter %q; %s takes %s", k, r.URL.Path, strings.Join(allowed, ", "))
		case len(q[k]) > 1 && k != "tag":
			return nil, links.Errorf(links.Invalid, "query parameter %q is given %d times", k, len(q[k]))
		}
	}
	return q, nil
}

// listing is one request for a page of links: the filters, the sort, the
// page size and where the page starts.
type listing struct {
	opt    links.ListOptions // filters and sort; Limit and After are the page's
	search string            // the q parameter as typed
	stale  bool              // only links unused for links.StaleAfter
}

// page is one page of a listing.
type page struct {
	Links []links.Link
	Total int    // every link the filters select
	Next  string // the cursor of the following page; "" on the last
}

// parseListing reads q (text with tag:x and owner:x terms), tag (any
// number), owner, stale (true: only the links unused for
// links.StaleAfter), sort, limit (1–1000, default def) and cursor.
func parseListing(q url.Values, def int) (listing, error) {
	search, err := searchQuery(q.Get("q"))
	if err != nil {
		return listing{}, err
	}
	opt := links.ParseSearch(search)
	for _, v := range q["tag"] { // tag=a&tag=b, or tag=a,b as a form field holds them
		opt.Tags = append(opt.Tags, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	}
	for i, t := range opt.Tags {
		opt.Tags[i] = strings.ToLower(t)
	}
	slices.Sort(opt.Tags)
	opt.Tags = slices.Compact(opt.Tags)
	// Each tag is one more LIKE over every row: as bounded as a link's.
	if len(opt.Tags) > links.MaxTags {
		return listing{}, links.Errorf(links.Invalid, "a listing filters by at most %d tags; this one has %d", links.MaxTags, len(opt.Tags))
	}
	for _, t := range opt.Tags {
		if len(t) > links.MaxTagLen {
			return listing{}, links.Errorf(links.Invalid, "tag %.40q is %d characters long; the limit is %d", t, len(t), links.MaxTagLen)
		}
	}
	if o := strings.TrimSpace(q.Get("owner")); o != "" {
		if len(o) > links.MaxOwnerLen {
			return listing{}, links.Errorf(links.Invalid, "owner is %d bytes long; the limit is %d", len(o), links.MaxOwnerLen)
		}
		opt.Owner = o
	}
	sort, ok := links.ParseSort(q.Get("sort"))
	if !ok {
		return listing{}, links.Errorf(links.Invalid, "sort must be name, clicks, clicks_30d, last_used or last_changed, not %q", q.Get("sort"))
	}
	opt.Sort = sort
	opt.Limit = def
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return listing{}, links.Errorf(links.Invalid, "limit must be a number from 1 to %d", maxPageLimit)
		}
		opt.Limit = n
	}
	l := listing{opt: opt, search: search}
	if v := q.Get("stale"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return listing{}, links.Errorf(links.Invalid, "stale must be true or false, not %.40q", v)
		}
		l.stale = b
	}
	if v := q.Get("cursor"); v != "" {
		c, err := l.decodeCursor(v)
		if err != nil {
			return listing{}, err
		}
		l.opt.After = &c
	}
	return l, nil
}

// cursor is what a page's next cursor holds: where the page ended in its
// sort, and a fingerprint of the filters, so that a cursor is not reused
// for another listing.
type cursor struct {
	Sort   links.Sort `json:"s"`
	Key    string     `json:"k"`
	Clicks int64      `json:"c,omitempty"`
	At     int64      `json:"t,omitempty"` // unix microseconds; 0 never clicked
	Filter uint32     `json:"f"`
}

func (l listing) fingerprint() uint32 {
	h := fnv.New32a()
	h.Write([]byte(l.opt.Query + "\x00" + strings.Join(l.opt.Tags, " ") + "\x00" + strings.ToLower(l.opt.Owner)))
	if l.stale {
		h.Write([]byte("\x00stale"))
	}
	return h.Sum32()
}

func (l listing) encodeCursor(last links.Link) string {
	c := links.CursorAfter(l.opt.Sort, last)
	cc := cursor{Sort: l.opt.Sort, Key: c.Key, Filter: l.fingerprint()}
	switch l.opt.Sort {
	case links.SortClicks, links.SortRecentClicks:
		cc.Clicks = c.Clicks
	case links.SortLastUsed, links.SortLastChanged:
		if !c.At.IsZero() {
			cc.At = c.At.UnixMicro()
		}
	}
	b, _ := json.Marshal(cc)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (l listing) decodeCursor(s string) (links.Cursor, error) {
	bad := links.Errorf(links.Invalid, "cursor is not one this server gave out; start again without it")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 1024 {
		return links.Cursor{}, bad
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil {
		return links.Cursor{}, bad
	}
	if c.Sort != l.opt.Sort || c.Filter != l.fingerprint() {
		return links.Cursor{}, links.Errorf(links.Invalid, "cursor belongs to another sort or other filters; start again without it")
	}
	out := links.Cursor{Key: c.Key, Clicks: c.Clicks}
	if c.At != 0 {
		out.At = time.UnixMicro(c.At).UTC()
	}
	return out, nil
}

// listPage reads one page (one link more than asked, to know whether
// another page follows) and the true total.
func (s *Server) listPage(ctx context.Context, p links.Principal, l listing) (page, error) {
	now := s.opt.Now()
	l.opt.Today = links.DayOf(now)
	if l.stale {
		l.opt.UnusedBefore = now.Add(-links.StaleAfter)
	}
	opt := l.opt
	opt.Limit++
	ls, err := s.opt.Links.List(ctx, p, opt)
	if err != nil {
		return page{}, err
	}
	total, err := s.opt.Links.Count(ctx, p, l.opt)
	if err != nil {
		return page{}, err
	}
	pg := page{Links: ls, Total: total}
	if len(ls) > l.opt.Limit {
		pg.Links = pg.Links[:l.opt.Limit]
		pg.Next = l.encodeCursor(ls[l.opt.Limit-1])
	}
	return pg, nil
}
