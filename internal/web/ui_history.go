package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

// uiPage is how many entries a history, audit, deleted or directory page shows.
const uiPage = 50

// diffRow is one field that a change changed.
type diffRow struct{ Field, Old, New string }

// diffRows lists the fields that differ between two recorded values (nil:
// the link did not exist).
func diffRows(before, after *links.Values) []diffRow {
	var b, a links.Values
	if before != nil {
		b = *before
	}
	if after != nil {
		a = *after
	}
	var out []diffRow
	for _, f := range []struct{ name, old, new string }{
		{"name", b.Name, a.Name},
		{"url", b.URL, a.URL},
		{"alias of", b.AliasOf, a.AliasOf},
		{"description", b.Description, a.Description},
		{"owner", b.Owner, a.Owner},
		{"tags", strings.Join(b.Tags, " "), strings.Join(a.Tags, " ")},
	} {
		if f.old != f.new {
			out = append(out, diffRow{f.name, f.old, f.new})
		}
	}
	return out
}

// historyEntry is one version on the history page.
type historyEntry struct {
	Change     links.Change
	Rows       []diffRow
	Values     *links.Values // what the link held at this version (nil: deleted)
	Current    bool          // the live link is at this version
	Untracked  bool          // a version from before history was kept, known from the next change
	CanRestore bool
}

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	cs, err := s.opt.Links.History(ctx, principal(r), name, links.ChangeQuery{Desc: true, Before: max(before, 0), Limit: uiPage + 1})
	if links.ErrorCode(err) == links.NotFound {
		s.notFound(w, r, name)
		return
	}
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	cs, next := nextSeq(cs, uiPage)
	p := principal(r)
	cur, err := s.opt.Links.Get(ctx, p, name)
	live := err == nil
	if err != nil && links.ErrorCode(err) != links.NotFound {
		s.errPage(w, r, err)
		return
	}
	// Restore buttons only for those who may use them (the rules of an
	// edit: of the live link, or of the deleted one as it was); others
	// are told why.
	var editErr error
	if live {
		editErr = s.opt.Links.MayEdit(p, cur)
	} else if ds, err := s.opt.Links.Deleted(ctx, p, links.DeletedQuery{Key: links.Normalize(name), Limit: 1}); err == nil && len(ds) == 1 {
		editErr = s.mayRestore(p, ds[0])
	}
	entries := make([]historyEntry, 0, len(cs)+1)
	for _, c := range cs {
		e := historyEntry{Change: c, Rows: diffRows(c.Before, c.After), Values: c.After}
		e.Current = live && c.LinkID == cur.ID && c.Version == cur.Version
		e.CanRestore = editErr == nil && c.After != nil && !e.Current
		entries = append(entries, e)
	}
	// The version before the oldest change, when history began after it
	// (links older than history, or pruned): its values are the oldest
	// change's "before".
	if last := len(cs) - 1; next == "" && last >= 0 && cs[last].Before != nil {
		c := cs[last]
		entries = append(entries, historyEntry{Change: links.Change{LinkID: c.LinkID, Version: c.Version - 1, Name: c.Before.Name},
			Values: c.Before, Untracked: true, CanRestore: editErr == nil})
	}
	data := map[string]any{"Name": name, "Live": live, "Entries": entries, "Next": next}
	if editErr != nil {
		data["CannotEdit"] = sentence(links.ErrorMessage(editErr))
	}
	if live {
		data["Link"] = cur
	} else if len(cs) > 0 {
		data["Name"] = cs[0].Name
	}
	s.render(w, r, http.StatusOK, "history", data)
}

func (s *Server) restoreForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version < 1 {
		s.errPage(w, r, links.Errorf(links.Invalid, "say which version to restore"))
		return
	}
	l, err := s.opt.Links.Restore(r.Context(), principal(r), r.PathValue("name"), version)
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/-/links/"+url.PathEscape(l.Name)+"?restored="+strconv.FormatInt(version, 10), http.StatusSeeOther)
}

func (s *Server) deletedPage(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	cs, err := s.opt.Links.Deleted(r.Context(), principal(r), links.DeletedQuery{Before: max(before, 0), Limit: uiPage + 1})
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	cs, next := nextSeq(cs, uiPage)
	p := principal(r)
	entries := make([]deletedEntry, len(cs))
	for i, c := range cs {
		entries[i] = deletedEntry{Change: c, CanRestore: s.mayRestore(p, c) == nil}
	}
	s.render(w, r, http.StatusOK, "deleted", map[string]any{"Deleted": entries, "Next": next})
}

// deletedEntry is one deleted link on the deleted page.
type deletedEntry struct {
	links.Change
	CanRestore bool
}

// mayRestore is whether p may bring back the link that deletion del
// removed: an edit of the link as it was.
func (s *Server) mayRestore(p links.Principal, del links.Change) error {
	var owner string
	if del.Before != nil {
		owner = del.Before.Owner
	}
	return s.opt.Links.MayEdit(p, links.Link{Name: del.Name, Key: del.Key, Owner: owner})
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Links.MayReadAudit(principal(r)); err != nil {
		s.errPage(w, r, err)
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	cs, err := s.opt.Links.Audit(r.Context(), principal(r), links.ChangeQuery{Desc: true, Before: max(before, 0), Limit: uiPage + 1})
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	cs, next := nextSeq(cs, uiPage)
	entries := make([]historyEntry, len(cs))
	for i, c := range cs {
		entries[i] = historyEntry{Change: c, Rows: diffRows(c.Before, c.After)}
	}
	s.render(w, r, http.StatusOK, "audit", map[string]any{"Entries": entries, "Next": next})
}

// staleInfo is what an edit form that lost a race shows: the changes made
// since it was loaded, and each field as loaded, as it is now, and as the
// person typed it.
type staleInfo struct {
	Changes  []links.Change // newest first
	Rows     []staleRow
	Recreate bool // the link was deleted and created again meanwhile
}

type staleRow struct {
	Field, Loaded, Now, Yours string
	Changed                   bool // by the other person
}

func (s *Server) staleView(r *http.Request, cur links.Link, loaded links.Rev, yours formValues) staleInfo {
	var info staleInfo
	var was *links.Values
	if loaded.ID != cur.ID {
		info.Recreate = true
	} else {
		cs, err := s.opt.Links.Store.Changes(r.Context(), links.ChangeQuery{LinkID: cur.ID, Desc: true, Limit: uiPage})
		if err != nil {
			s.opt.Log.Warn("history of a stale edit could not be read", "link", cur.Name, "err", err)
		}
		for _, c := range cs {
			switch {
			case c.Version > loaded.Version:
				info.Changes = append(info.Changes, c)
				if c.Version == loaded.Version+1 {
					was = c.Before
				}
			case c.Version == loaded.Version && was == nil:
				was = c.After
			}
		}
	}
	now := links.ValuesOf(cur)
	for _, f := range []struct{ name, now, yours string }{
		{"name", now.Name, yours.Name},
		{"url", now.URL, yours.URL},
		{"alias of", now.AliasOf, yours.AliasOf},
		{"description", now.Description, yours.Description},
		{"owner", now.Owner, yours.Owner},
		{"tags", strings.Join(now.Tags, " "), yours.Tags},
	} {
		if f.name == "alias of" && f.now == "" && f.yours == "" && (was == nil || was.AliasOf == "") {
			continue // never an alias: no row for it
		}
		row := staleRow{Field: f.name, Now: f.now, Yours: f.yours, Changed: true}
		if was != nil {
			row.Loaded = map[string]string{"name": was.Name, "url": was.URL, "alias of": was.AliasOf, "description": was.Description,
				"owner": was.Owner, "tags": strings.Join(was.Tags, " ")}[f.name]
			row.Changed = row.Loaded != row.Now
		}
		info.Rows = append(info.Rows, row)
	}
	return info
}

// sortOption is one column the directory can sort by.
type sortOption struct {
	Label, URL string
	Current    bool
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l, err := parseListing(q, uiPage)
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	pg, err := s.listPage(r.Context(), principal(r), l)
	if err != nil {
		s.errPage(w, r, err)
		return
	}
	// Links keep the filters; a new sort starts at the first page.
	base := url.Values{}
	for _, k := range []string{"q", "owner"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			base.Set(k, v)
		}
	}
	for _, t := range q["tag"] {
		base.Add("tag", t)
	}
	if l.stale {
		base.Set("stale", "true")
	}
	var sorts []sortOption
	for _, o := range []struct {
		s     links.Sort
		label string
	}{{links.SortName, "name"}, {links.SortClicks, "clicks"}, {links.SortRecentClicks, "clicks in 30 days"}, {links.SortLastUsed, "last used"}, {links.SortLastChanged, "last changed"}} {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		v.Set("sort", string(o.s))
		sorts = append(sorts, sortOption{Label: o.label, URL: "/-/links?" + v.Encode(), Current: o.s == l.opt.Sort})
	}
	data := map[string]any{"Page": pg, "Sorts": sorts, "Search": l.search, "Tags": l.opt.Tags, "Owner": l.opt.Owner,
		"Sort": string(l.opt.Sort), "Query": l.search, "Stale": l.stale, "Recent": l.opt.Sort == links.SortRecentClicks,
		"StaleDays": int(links.StaleAfter / (24 * time.Hour))}
	if pg.Next != "" {
		base.Set("sort", string(l.opt.Sort))
		base.Set("cursor", pg.Next)
		data["NextURL"] = "/-/links?" + base.Encode()
	}
	if l.opt.After != nil {
		base.Del("cursor")
		base.Set("sort", string(l.opt.Sort))
		data["FirstURL"] = "/-/links?" + base.Encode()
	}
	s.render(w, r, http.StatusOK, "directory", data)
}
