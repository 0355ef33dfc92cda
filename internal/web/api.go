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
	"time"

	"github.com/signpost-go/signpost/internal/links"
)

const (
	maxJSONBody   = 64 << 10
	maxImportBody = 64 << 20
	maxListLimit  = 1000
)

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
	code := links.ErrorCode(err)
	writeJSON(w, statusOf(err), map[string]apiError{"error": {Code: code, Message: links.ErrorMessage(err)}})
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

// record returns l as the API shows it, with clicks not yet flushed added.
func (s *Server) record(l links.Link) links.Record {
	return links.ToRecord(s.opt.Index.WithPending(l))
}

type linkBody struct {
	Name        *string `json:"name"`
	URL         *string `json:"url"`
	Description *string `json:"description"`
	Owner       *string `json:"owner"`
}

func decodeBody(w http.ResponseWriter, r *http.Request) (links.Input, error) {
	var b linkBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return links.Input{}, links.Errorf(links.TooLarge, "request body is larger than %d bytes", maxJSONBody)
		}
		if errors.Is(err, io.EOF) {
			return links.Input{}, links.Errorf(links.Invalid, "request body is empty; send a JSON object")
		}
		return links.Input{}, links.Errorf(links.Invalid, "request body is not valid JSON: %s", err.Error())
	}
	if dec.More() {
		return links.Input{}, links.Errorf(links.Invalid, "request body has data after the JSON object")
	}
	return links.Input{Name: b.Name, URL: b.URL, Description: b.Description, Owner: b.Owner}, nil
}

func (s *Server) apiList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opt := links.ListOptions{Query: q.Get("q"), Sort: links.SortName, Limit: 50}
	switch v := q.Get("sort"); v {
	case "", "name":
	case "popular":
		opt.Sort = links.SortPopular
	case "recent":
		opt.Sort = links.SortRecent
	default:
		s.apiErr(w, r, links.Errorf(links.Invalid, "sort must be name, popular or recent, not %q", v))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			s.apiErr(w, r, links.Errorf(links.Invalid, "limit must be a number from 1 to %d", maxListLimit))
			return
		}
		opt.Limit = n
	}
	ls, err := s.opt.Links.Store.List(r.Context(), opt)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	out := make([]links.Record, len(ls))
	for i, l := range ls {
		out[i] = s.record(l)
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": out})
}

func (s *Server) apiCreate(w http.ResponseWriter, r *http.Request) {
	in, err := decodeBody(w, r)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	l, err := s.opt.Links.Create(r.Context(), s.opt.Auth.User(r), in)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/links/"+l.Name)
	writeJSON(w, http.StatusCreated, s.record(l))
}

func (s *Server) apiGet(w http.ResponseWriter, r *http.Request) {
	l, err := s.opt.Links.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.record(l))
}

func (s *Server) apiUpdate(w http.ResponseWriter, r *http.Request) {
	in, err := decodeBody(w, r)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	l, err := s.opt.Links.Update(r.Context(), s.opt.Auth.User(r), r.PathValue("name"), in)
	if err != nil {
		s.apiErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.record(l))
}

func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Links.Delete(r.Context(), s.opt.Auth.User(r), r.PathValue("name")); err != nil {
		s.apiErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiExport streams every link as NDJSON. It extends its own write deadline
// as it goes, so a large export outlives HTTP_WRITE_TIMEOUT while a stuck
// client still cannot hold the connection forever.
func (s *Server) apiExport(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="signpost-export.ndjson"`)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := s.opt.Links.Store.Each(r.Context(), func(l links.Link) error {
		if n%1000 == 0 {
			if err := rc.SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		n++
		return enc.Encode(s.record(l))
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
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-ndjson" {
		s.apiErr(w, r, links.Errorf(links.UnsupportedMediaType, "import wants Content-Type: application/x-ndjson, one link per line"))
		return
	}
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
	n, err := s.opt.Links.Import(r.Context(), s.opt.Auth.User(r), links.ScanNDJSON(bytes.NewReader(body), s.opt.Now(), nil))
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
