package web

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// changeRecord is a history entry as the API shows it.
type changeRecord struct {
	Seq     int64         `json:"seq"`
	LinkID  int64         `json:"link_id"`
	Version int64         `json:"version"`
	Action  links.Action  `json:"action"`
	Actor   string        `json:"actor"`
	At      time.Time     `json:"at"`
	Name    string        `json:"name"`
	Before  *links.Values `json:"before"`
	After   *links.Values `json:"after"`
}

func toChangeRecords(cs []links.Change) []changeRecord {
	out := make([]changeRecord, len(cs))
	for i, c := range cs {
		out[i] = changeRecord{Seq: c.Seq, LinkID: c.LinkID, Version: c.Version, Action: c.Action, Actor: c.Actor,
			At: c.At, Name: c.Name, Before: c.Before, After: c.After}
	}
	return out
}

// seqPage reads limit (1–1000, default def) and a cursor that is a history
// seq, as history, audit and deleted pages use.
func seqPage(q url.Values, def int) (limit int, cursor int64, err error) {
	limit = def
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return 0, 0, links.Errorf(links.Invalid, "limit must be a number from 1 to %d", maxPageLimit)
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, links.Errorf(links.Invalid, "cursor is not one this server gave out; start again without it")
		}
		cursor = n
	}
	return limit, cursor, nil
}

// nextSeq is the cursor after a page of changes: set when the page is full
// (one more than limit was read).
func nextSeq(cs []links.Change, limit int) ([]links.Change, string) {
	if len(cs) <= limit {
		return cs, ""
	}
	return cs[:limit], strconv.FormatInt(cs[limit-1].Seq, 10)
}

// apiChanges answers a page of history entries under member: the query
// may hold limit, cursor and extra; fetch reads limit+1 entries from the
// cursor (a seq; 0 at the start).
func (s *Server) apiChanges(w http.ResponseWriter, r *http.Request, member string, extra []string,
	fetch func(q url.Values, limit int, cursor int64) ([]links.Change, error)) {
	q, err := strictQuery(r, append([]string{"limit", "cursor"}, extra...)...)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	limit, cursor, err := seqPage(q, 100)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	cs, err := fetch(q, limit, cursor)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	cs, next := nextSeq(cs, limit)
	body := map[string]any{member: toChangeRecords(cs)}
	if next != "" {
		body["next"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// apiHistory lists a link's changes, newest first: the live link's, or
// the deleted one's that last had the name.
func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	s.apiChanges(w, r, "history", nil, func(_ url.Values, limit int, before int64) ([]links.Change, error) {
		return s.opt.Links.History(r.Context(), principal(r), r.PathValue("name"), links.ChangeQuery{Desc: true, Before: before, Limit: limit + 1})
	})
}

// apiRestore puts back version {"version":N} of a link, or brings a deleted
// link back with the values of one of its versions.
func (s *Server) apiRestore(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Version int64 `json:"version"`
	}
	// Only JSON, as for link bodies: a browser's cross-site form post
	// cannot be read as one.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.apiErr(w, r, links.Errorf(links.UnsupportedMediaType, `send {"version": N} as JSON with Content-Type: application/json`))
		return
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.apiErr(w, r, err)
		return
	}
	if body.Version < 1 {
		s.apiErr(w, r, links.Errorf(links.Invalid, `say which version to restore: {"version": N}, from the link's history`))
		return
	}
	l, err := s.opt.Links.Restore(r.Context(), principal(r), r.PathValue("name"), body.Version)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(l))
	writeJSON(w, http.StatusOK, links.ToRecord(l))
}

// apiAudit is the audit log: every change of every link, oldest first
// from since, paged by cursor; for those MayReadAudit lets in.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Links.MayReadAudit(principal(r)); err != nil {
		s.apiErr(w, r, err)
		return
	}
	s.apiChanges(w, r, "changes", []string{"since"}, func(q url.Values, limit int, after int64) ([]links.Change, error) {
		var since time.Time
		if v := q.Get("since"); v != "" {
			var err error
			if since, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, links.Errorf(links.Invalid, "since must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
		}
		return s.opt.Links.Audit(r.Context(), principal(r), links.ChangeQuery{Since: since, After: after, Limit: limit + 1})
	})
}

// apiDeleted lists deleted links (their last deletion), newest first.
func (s *Server) apiDeleted(w http.ResponseWriter, r *http.Request) {
	s.apiChanges(w, r, "deleted", nil, func(_ url.Values, limit int, before int64) ([]links.Change, error) {
		return s.opt.Links.Deleted(r.Context(), principal(r), links.DeletedQuery{Before: before, Limit: limit + 1})
	})
}
