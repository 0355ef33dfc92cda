package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

const (
	maxJSONBody   = 64 << 10
	maxImportBody = 64 << 20
	// importBodyTime bounds the arrival of an import's body (64 MiB at
	// 0.5 MiB/s), in place of HTTP_READ_TIMEOUT; importWriteTime bounds
	// what follows (the import's transaction and reload take at most 4x
	// links.DefaultWriteTimeout each).
	importBodyTime  = 2 * time.Minute
	importWriteTime = time.Minute
	maxPageLimit    = 1000 // links, changes or deletions per page
	// maxQueryLen bounds a search (UI, shortcut, API, directory): a name is
	// at most 100 bytes, and the LIKE it becomes costs its length times
	// every stored URL's (SQLite refuses patterns past 50,000 bytes
	// outright).
	maxQueryLen = 200
)

// searchQuery is the search text q, refused past maxQueryLen.
func searchQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	if len(q) > maxQueryLen {
		return "", links.Errorf(links.Invalid, "a search is at most %d bytes; this one has %d", maxQueryLen, len(q))
	}
	return q, nil
}

type apiError struct {
	Code    links.Code `json:"code"`
	Message string     `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func (s *Server) apiErr(w http.ResponseWriter, r *http.Request, err error) {
	s.logErr(r, err)
	errorHeaders(w, err)
	if statusOf(err) == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", bearerChallenge(r))
	}
	code := links.ErrorCode(err)
	body := map[string]any{"error": apiError{Code: code, Message: links.ErrorMessage(err)}}
	var le *links.LineErrors
	if errors.As(err, &le) {
		body["lines"] = le.Lines // every bad line of an import (the first 100)
		body["bad_lines"] = le.Total
	}
	writeJSON(w, statusOf(err), body)
}

// bearerChallenge is the WWW-Authenticate of an API 401 (RFC 9110 wants
// one; RFC 6750 says what it holds): the scheme the API takes, and why
// the credentials sent were refused. A 401 to a request with one
// Authorization header that says Bearer is its token refused; any other
// Authorization is a malformed request; none, no error code (an identity
// is needed, or the proxy's identity header came twice).
func bearerChallenge(r *http.Request) string {
	const c = `Bearer realm="signpost"`
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return c
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(h[0]), " ") // as auth reads it
	if len(h) == 1 && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "" {
		return c + `, error="invalid_token"`
	}
	return c + `, error="invalid_request"`
}

// apiStale answers a conditional write that found the link changed: 412,
// with the link as it is now and its ETag, so that the client can look
// and decide again.
func (s *Server) apiStale(w http.ResponseWriter, r *http.Request, name string, err error) {
	cur, gerr := s.opt.Links.Get(r.Context(), principal(r), name)
	if gerr != nil {
		s.apiErr(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(cur))
	writeJSON(w, statusOf(err), map[string]any{
		"error":   apiError{Code: links.ErrorCode(err), Message: links.ErrorMessage(err)},
		"current": links.ToRecord(cur),
	})
}

// etag is the link's ETag: its ID and version, from the same row.
func etag(l links.Link) string { return `"` + l.Rev().String() + `"` }

// ifMatch reads If-Match: nil when absent or "*" (any current version),
// else the versions it lists. A tag that is not one of ours, or a weak
// one (If-Match compares strongly), stands for a version no link has, so
// the write is refused (412) rather than made unconditional.
func ifMatch(r *http.Request) []links.Rev {
	vals := r.Header.Values("If-Match")
	if len(vals) == 0 {
		return nil
	}
	var out []links.Rev
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				return nil
			}
			rev, ok := links.Rev{}, false
			if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
				rev, ok = links.ParseRev(t[1 : len(t)-1])
			}
			if !ok {
				rev = links.Rev{ID: -1, Version: -1}
			}
			out = append(out, rev)
		}
	}
	if len(out) == 0 {
		return []links.Rev{{ID: -1, Version: -1}}
	}
	return out
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	s.apiErr(w, r, links.Errorf(links.NotFound, "no API endpoint %s %s", r.Method, r.URL.Path))
}

// apiMethodNotAllowed answers a method that an API path does not take, in
// JSON like every other API error (the mux's own 405 is plain text).
func (s *Server) apiMethodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		s.apiErr(w, r, links.Errorf(links.MethodNotAllowed, "%s %s is not allowed; it takes %s", r.Method, r.URL.Path, allow))
	}
}

type linkBody struct {
	Name        *string   `json:"name"`
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Owner       *string   `json:"owner"`
	Tags        *[]string `json:"tags"`
	AliasOf     *string   `json:"alias_of"`
	// LeaveAlias, on a rename, leaves an alias under the old name.
	LeaveAlias bool `json:"leave_alias"`

	// A record as GET shows it may be sent back: its read-only fields
	// are accepted and ignored.
	Aliases       json.RawMessage `json:"aliases"`
	Version       json.RawMessage `json:"version"`
	Clicks        json.RawMessage `json:"clicks"`
	LastClickedAt json.RawMessage `json:"last_clicked_at"`
	CreatedAt     json.RawMessage `json:"created_at"`
	UpdatedAt     json.RawMessage `json:"updated_at"`
}

// decodeJSON reads one JSON object from the body into v, refusing unknown
// fields, bodies over 64 KiB and anything after the object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return links.Errorf(links.TooLarge, "request body is larger than %d bytes", maxJSONBody)
		}
		if errors.Is(err, io.EOF) {
			return links.Errorf(links.Invalid, "request body is empty; send a JSON object")
		}
		return links.Errorf(links.Invalid, "request body is not valid JSON: %s", err.Error())
	}
	if dec.More() {
		return links.Errorf(links.Invalid, "request body has data after the JSON object")
	}
	return nil
}

func decodeBody(w http.ResponseWriter, r *http.Request) (links.Input, error) {
	// Only JSON: a cross-site form or text/plain post (which a browser
	// sends without asking first) cannot be read as a link.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return links.Input{}, links.Errorf(links.UnsupportedMediaType, "send the link as JSON with Content-Type: application/json")
	}
	var b linkBody
	if err := decodeJSON(w, r, &b); err != nil {
		return links.Input{}, err
	}
	return links.Input{Name: b.Name, URL: b.URL, Description: b.Description, Owner: b.Owner, Tags: b.Tags,
		AliasOf: b.AliasOf, LeaveAlias: b.LeaveAlias}, nil
}

// replacement is a PUT body as a whole new value: a field left out is
// cleared (description, tags, alias_of), takes its default (owner: the
// requester, as on create; name: the one in the path) or is missing (url).
func replacement(in links.Input, name, user string) links.Input {
	empty, none := "", []string{}
	if in.Name == nil {
		in.Name = &name
	}
	if in.URL == nil {
		in.URL = &empty
	}
	if in.Description == nil {
		in.Description = &empty
	}
	if in.Owner == nil {
		in.Owner = &user
	}
	if in.Tags == nil {
		in.Tags = &none
	}
	if in.AliasOf == nil {
		in.AliasOf = &empty
	}
	return in
}

// decodeMergePatch reads a JSON merge patch (RFC 7396) of a link: a member
// sets its field, null removes it (clears it), an absent one leaves it.
func decodeMergePatch(w http.ResponseWriter, r *http.Request) (links.Input, error) {
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/merge-patch+json", "application/json":
	default:
		return links.Input{}, links.Errorf(links.UnsupportedMediaType, "PATCH takes a JSON merge patch (Content-Type: application/merge-patch+json), not %s", mt)
	}
	var patch map[string]json.RawMessage
	if err := decodeJSON(w, r, &patch); err != nil {
		return links.Input{}, err
	}
	if patch == nil {
		return links.Input{}, links.Errorf(links.Invalid, "a merge patch is a JSON object")
	}
	var in links.Input
	str := func(field string, raw json.RawMessage, dst **string, clearable bool) error {
		if string(raw) == "null" {
			if !clearable {
				return links.Errorf(links.Invalid, "%s cannot be removed", field)
			}
			empty := ""
			*dst = &empty
			return nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return links.Errorf(links.Invalid, "%s must be a string", field)
		}
		*dst = &v
		return nil
	}
	for k, raw := range patch {
		var err error
		switch k {
		case "name":
			err = str(k, raw, &in.Name, false)
		case "url":
			err = str(k, raw, &in.URL, false)
		case "description":
			err = str(k, raw, &in.Description, true)
		case "owner":
			err = str(k, raw, &in.Owner, true)
		case "alias_of":
			err = str(k, raw, &in.AliasOf, true)
		case "leave_alias":
			if json.Unmarshal(raw, &in.LeaveAlias) != nil {
				err = links.Errorf(links.Invalid, "leave_alias must be true or false")
			}
		case "tags":
			tags := []string{}
			if string(raw) != "null" {
				if json.Unmarshal(raw, &tags) != nil {
					err = links.Errorf(links.Invalid, "tags must be a list of strings")
				}
			}
			in.Tags = &tags
		case "version", "clicks", "last_clicked_at", "created_at", "updated_at", "aliases": // read-only: ignored
		default:
			err = links.Errorf(links.Invalid, "unknown field %q", k)
		}
		if err != nil {
			return links.Input{}, err
		}
	}
	return in, nil
}

func (s *Server) apiList(w http.ResponseWriter, r *http.Request) {
	q, err := strictQuery(r, "q", "sort", "limit", "cursor", "tag", "owner", "stale")
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	req, err := parseListing(q, 50)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	pg, err := s.listPage(r.Context(), principal(r), req)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	out := make([]listRecord, len(pg.Links))
	for i, l := range pg.Links {
		out[i].Record = links.ToRecord(l)
		if req.opt.Sort == links.SortRecentClicks {
			out[i].RecentClicks = &l.RecentClicks
		}
	}
	body := map[string]any{"links": out, "total": pg.Total}
	if pg.Next != "" {
		body["next"] = pg.Next
	}
	writeJSON(w, http.StatusOK, body)
}

// listRecord is a link in a list: with sort=clicks_30d, also its clicks
// of those days.
type listRecord struct {
	links.Record
	RecentClicks *int64 `json:"clicks_30d,omitempty"`
}

// maxStatsDays bounds a stats series: CLICK_HISTORY_DAYS, or ten years
// when every day is kept.
func (s *Server) maxStatsDays() int {
	if s.opt.ClickHistoryDays > 0 {
		return s.opt.ClickHistoryDays
	}
	return 3660
}

// statsBody is GET /api/v1/links/{name}/stats: the link's clicks per UTC
// day, oldest first, every day of the range listed.
type statsBody struct {
	Name  string     `json:"name"`
	Days  int        `json:"days"`
	From  string     `json:"from"`
	To    string     `json:"to"`
	Total int64      `json:"total"`
	Daily []statsDay `json:"daily"`
}

type statsDay struct {
	Day    string `json:"day"`
	Clicks int64  `json:"clicks"`
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	q, err := strictQuery(r, "days")
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	days := min(chartDays, s.maxStatsDays())
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.maxStatsDays() {
			s.apiErr(w, r, links.Errorf(links.Invalid, "days must be a number from 1 to %d (CLICK_HISTORY_DAYS)", s.maxStatsDays()))
			return
		}
		days = n
	}
	to := links.DayOf(s.opt.Now())
	from := to - links.Day(days) + 1
	l, series, err := s.opt.Links.DailyClicks(r.Context(), principal(r), r.PathValue("name"), from, to)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	body := statsBody{Name: l.Name, Days: days, From: from.String(), To: to.String(), Daily: make([]statsDay, len(series))}
	for i, d := range series {
		body.Daily[i] = statsDay{Day: d.Day.String(), Clicks: d.Clicks}
		body.Total = links.SumClicks(body.Total, d.Clicks)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) apiCreate(w http.ResponseWriter, r *http.Request) {
	in, err := decodeBody(w, r)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	l, err := s.opt.Links.Create(r.Context(), principal(r), in)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/links/"+l.Name)
	w.Header().Set("ETag", etag(l))
	writeJSON(w, http.StatusCreated, links.ToRecord(l))
}

func (s *Server) apiGet(w http.ResponseWriter, r *http.Request) {
	l, err := s.opt.Links.Get(r.Context(), principal(r), r.PathValue("name"))
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(l))
	w.Header().Set("Accept-Patch", "application/merge-patch+json")
	writeJSON(w, http.StatusOK, links.ToRecord(l))
}

// apiUpdate is PUT: the body replaces the link (see replacement).
func (s *Server) apiUpdate(w http.ResponseWriter, r *http.Request) {
	in, err := decodeBody(w, r)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	p := principal(r)
	s.apiWrite(w, r, p, replacement(in, r.PathValue("name"), p.User))
}

// apiPatch is PATCH with a JSON merge patch: only the fields present change.
func (s *Server) apiPatch(w http.ResponseWriter, r *http.Request) {
	in, err := decodeMergePatch(w, r)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	s.apiWrite(w, r, principal(r), in)
}

func (s *Server) apiWrite(w http.ResponseWriter, r *http.Request, p links.Principal, in links.Input) {
	in.IfMatch = ifMatch(r)
	l, err := s.opt.Links.Update(r.Context(), p, r.PathValue("name"), in)
	if links.ErrorCode(err) == links.Stale {
		s.apiStale(w, r, r.PathValue("name"), err)
		return
	}
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(l))
	writeJSON(w, http.StatusOK, links.ToRecord(l))
}

func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request) {
	err := s.opt.Links.Delete(r.Context(), principal(r), r.PathValue("name"), ifMatch(r)...)
	if links.ErrorCode(err) == links.Stale {
		s.apiStale(w, r, r.PathValue("name"), err)
		return
	}
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiExport streams every link as NDJSON. It extends its own write deadline
// as it goes, so a large export outlives HTTP_WRITE_TIMEOUT while a stuck
// client still cannot hold the connection forever.
func (s *Server) apiExport(w http.ResponseWriter, r *http.Request) {
	if _, err := strictQuery(r); err != nil {
		s.apiErr(w, r, err)
		return
	}
	if err := s.opt.Links.MayRead(principal(r)); err != nil {
		s.apiErr(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="signpost-export.ndjson"`)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.opt.Links.Each(r.Context(), principal(r), func(l links.Link) error {
		if n%1000 == 0 {
			if err := rc.SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		n++
		return enc.Encode(links.ToRecord(l))
	})
	if err != nil {
		if n == 0 {
			s.apiErr(w, r, err)
			return
		}
		// Headers are gone: cut the stream so the client sees it incomplete.
		s.opt.Log.Error("export failed mid-stream", "after", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	bw.Flush()
}

func (s *Server) apiImport(w http.ResponseWriter, r *http.Request) {
	// NDJSON is links; text/csv is golink's click statistics (its
	// /.export-stats), which set the totals of links already imported.
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-ndjson" && mt != "text/csv" {
		s.apiErr(w, r, links.Errorf(links.UnsupportedMediaType, "import wants Content-Type: application/x-ndjson, one link per line (or text/csv: golink's /.export-stats, with stats=true)"))
		return
	}
	q, err := strictQuery(r, "stats")
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	stats := false
	if v := q.Get("stats"); v != "" {
		if stats, err = strconv.ParseBool(v); err != nil {
			s.apiErr(w, r, links.Errorf(links.Invalid, "stats must be true or false, not %q", v))
			return
		}
	}
	if mt == "text/csv" && !stats {
		s.apiErr(w, r, links.Errorf(links.Invalid, "a text/csv import is golink's click statistics: send it with stats=true (admins only)"))
		return
	}
	if stats { // refused before the body is read
		if err := s.opt.Links.MayImportStats(principal(r)); err != nil {
			s.apiErr(w, r, err)
			return
		}
	}
	// One import at a time: each holds its body (up to 64 MiB) in memory
	// while it is parsed and stored.
	select {
	case s.importing <- struct{}{}:
		defer func() { <-s.importing }()
	default:
		s.apiErr(w, r, links.Errorf(links.Unavailable, "another import is running; try again when it is done"))
		return
	}
	// The server's read and write timeouts are for ordinary requests: an
	// import's body may take longer to arrive, and its answer comes after
	// the import (bounded on its own, links.Service).
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(importBodyTime))
	rc.SetWriteDeadline(time.Now().Add(importBodyTime + importWriteTime))
	// The body (at most 64 MiB) is read first, so that a slow upload never
	// holds the database's write lock; then each line is validated and
	// written as it is parsed, inside the one transaction: no slice of
	// every link (a few hundred bytes each) is ever built.
	body, err := readBody(http.MaxBytesReader(w, r.Body, maxImportBody), r.ContentLength, maxImportBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = links.Errorf(links.TooLarge, "import body is larger than %d MiB", maxImportBody>>20)
		} else {
			err = links.Wrap(err, links.Invalid, "reading the import body: "+err.Error())
		}
		s.apiErr(w, r, err)
		return
	}
	if mt == "text/csv" {
		totals, err := links.ReadGolinkStats(bytes.NewReader(body))
		if err != nil {
			s.apiErr(w, r, err)
			return
		}
		n, unknown, err := s.opt.Links.ImportClicks(r.Context(), principal(r), totals)
		if err != nil {
			s.apiErr(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"imported": n, "unknown": unknown})
		return
	}
	// Click counts and times in the file are taken only when an admin
	// asks (?stats=true; links.Service refuses anyone else), or from an
	// operator's `signpost import`.
	n, err := s.opt.Links.Import(r.Context(), principal(r), links.ScanNDJSONWith(bytes.NewReader(body), s.opt.Now(), nil, s.opt.Links.Aliases(r.Context())), links.ImportOptions{Stats: stats})
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"imported": n})
}

// readBody reads r whole into one buffer, sized from the request's
// Content-Length when it is given (within limit), so that a large body is
// not copied as the buffer grows.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if contentLength > 0 {
		buf.Grow(int(min(contentLength, limit)) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
