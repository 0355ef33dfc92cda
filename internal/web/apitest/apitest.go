// Package apitest checks HTTP exchanges with the JSON API against its
// OpenAPI description (internal/web/openapi.json), for tests: wrapped
// around a test server (Handler) or a client (Transport), it fails any
// request or answer under /api/v1 that the description does not allow, so
// that the description cannot drift from the code.
//
// What is checked, for each exchange under /api/v1:
//   - a path the description lacks must be answered 404, and a method its
//     path lacks 405 with an Allow header listing exactly the described
//     methods (and HEAD with GET), both in the error shape;
//   - a request the description refuses (a parameter, header or body out
//     of its schema, a media type it does not list) must get a 4xx;
//   - every answer's status must be one the operation lists, with its
//     required headers, media type and body schema (HEAD: the status).
//
// It takes the description as bytes (web.OpenAPI()), so that package web's
// own tests may use it.
package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Prefix is the API's path; the description's paths are relative to it
// (its one server is "/api/v1").
const Prefix = "/api/v1"

// maxChecked bounds the bodies a check reads: larger ones (a 64 MiB
// import, a long export) pass through unchecked; their status and headers
// are still checked.
const maxChecked = 4 << 20

// Checker checks exchanges against one description. It is safe for
// concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router

	mu   sync.Mutex
	seen map[string]map[int]bool // "METHOD /path" -> statuses answered
}

// registerNDJSON teaches openapi3filter (whose decoders are one global
// registry) to read application/x-ndjson bodies: as the list of their
// lines' values, which is how the description writes their schema.
var registerNDJSON = sync.OnceFunc(func() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", decodeNDJSON)
})

// New loads and validates the description spec.
func New(spec []byte) (*Checker, error) {
	registerNDJSON()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI description: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI description: %w", err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != Prefix {
		return nil, fmt.Errorf("the description's one server must be %q", Prefix)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Checker{doc: doc, router: router, seen: map[string]map[int]bool{}}, nil
}

// Doc is the loaded description (not to be changed).
func (c *Checker) Doc() *openapi3.T { return c.doc }

func (c *Checker) saw(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][status] = true
}

// Unexercised lists the described operations ("METHOD /path") that no
// checked exchange has reached, and, for the others, the described
// statuses none was answered with ("METHOD /path STATUS").
func (c *Checker) Unexercised() (ops, statuses []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for method, op := range c.doc.Paths.Value(path).Operations() {
			name := method + " " + path
			seen := c.seen[name]
			if seen == nil {
				ops = append(ops, name)
				continue
			}
			for status := range op.Responses.Map() {
				if n, err := strconv.Atoi(status); err == nil && !seen[n] {
					statuses = append(statuses, name+" "+status)
				}
			}
		}
	}
	slices.Sort(ops)
	slices.Sort(statuses)
	return ops, statuses
}

// Exchange is one request and its answer.
type Exchange struct {
	Request *http.Request // method, URL and header; its body is RequestBody
	// RequestBody is the body sent; nil when it was too large to check.
	RequestBody []byte
	Status      int
	Header      http.Header
	// Body is the answer's body; nil when it was too large to check.
	Body []byte
}

// IsAPIPath reports whether path is the API's (what Check looks at).
func IsAPIPath(path string) bool {
	return strings.HasPrefix(path, Prefix) && (len(path) == len(Prefix) || path[len(Prefix)] == '/')
}

// Check returns what about x the description does not allow, or nil.
func (c *Checker) Check(x Exchange) error {
	ctx := context.Background()
	req := x.Request.Clone(ctx)
	if req.Method == http.MethodHead { // what a GET answers, without the body
		req.Method = http.MethodGet
	}
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	req.ContentLength = int64(len(x.RequestBody))
	req.GetBody = nil

	route, params, err := c.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return c.checkError(x, http.StatusNotFound, "NotFound")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		if err := c.checkError(x, http.StatusMethodNotAllowed, "MethodNotAllowed"); err != nil {
			return err
		}
		return c.checkAllow(x)
	case err != nil:
		return fmt.Errorf("no route: %w", err)
	}

	opts := &openapi3filter.Options{
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Never change the request: the server must see what was sent.
		SkipSettingDefaults: true,
		MultiError:          true,
		ExcludeRequestBody:  x.RequestBody == nil,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && (x.Status < 400 || x.Status >= 500) {
		return fmt.Errorf("the description refuses the request (%v), yet it was answered %d", reqErr, x.Status)
	}

	c.saw(req.Method+" "+route.Path, x.Status)
	if x.Request.Method == http.MethodHead {
		if route.Operation.Responses.Status(x.Status) == nil {
			return fmt.Errorf("HEAD answered %d, which GET %s does not list", x.Status, route.Path)
		}
		return nil
	}
	ropts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: x.Body == nil}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header, Options: ropts}
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("answer %d does not match %s %s: %w", x.Status, x.Request.Method, route.Path, err)
	}
	return nil
}

// checkError checks an answer the router gave no operation for: status
// and the error shape of the named response component.
func (c *Checker) checkError(x Exchange, status int, component string) error {
	if x.Status != status {
		return fmt.Errorf("%s %s is not in the description, so it must be answered %d, not %d", x.Request.Method, x.Request.URL.Path, status, x.Status)
	}
	resp := c.doc.Components.Responses[component]
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("the description has no response component %s", component)
	}
	if x.Request.Method == http.MethodHead || x.Body == nil {
		return nil
	}
	mt := resp.Value.Content.Get(x.Header.Get("Content-Type"))
	if mt == nil {
		return fmt.Errorf("%d answered as %q, not as the error shape's media type", status, x.Header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(x.Body, &v); err != nil {
		return fmt.Errorf("%d body is not JSON: %v: %q", status, err, x.Body)
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%d body is not the error shape: %w", status, err)
	}
	return nil
}

// checkAllow checks that a 405's Allow lists exactly the methods the
// description gives the path, and HEAD with GET.
func (c *Checker) checkAllow(x Exchange) error {
	item := c.pathItem(x.Request)
	if item == nil {
		return fmt.Errorf("%s: no path item", x.Request.URL.Path)
	}
	var want []string
	for m := range item.Operations() {
		want = append(want, m)
		if m == http.MethodGet {
			want = append(want, http.MethodHead)
		}
	}
	var got []string
	for _, m := range strings.Split(x.Header.Get("Allow"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			got = append(got, m)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s %s: Allow %q, but the description has %s", x.Request.Method, x.Request.URL.Path, x.Header.Get("Allow"), strings.Join(want, ", "))
	}
	return nil
}

// pathItem is the description's path item for r's path, whatever its method.
func (c *Checker) pathItem(r *http.Request) *openapi3.PathItem {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		rr := r.Clone(context.Background())
		rr.Method = m
		if route, _, err := c.router.FindRoute(rr); err == nil {
			return route.PathItem
		}
	}
	return nil
}

// decodeNDJSON reads an NDJSON body as the list of its lines' values
// (blank lines skipped).
func decodeNDJSON(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), maxChecked)
	out := []any{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("line %d is not JSON: %w", n, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// Handler serves h, checking every exchange under /api/v1 with c; a
// mismatch fails t (from the server's goroutine: Errorf, not Fatal).
func Handler(t testing.TB, c *Checker, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsAPIPath(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		x := Exchange{Request: r.Clone(r.Context())}
		body := capture(r)
		rec := &recorder{ResponseWriter: w}
		panicked := true
		defer func() {
			if panicked { // an aborted answer (a stream cut short) has no whole to check
				return
			}
			x.RequestBody = body()
			x.Status, x.Header, x.Body = rec.result()
			if err := c.Check(x); err != nil {
				t.Errorf("OpenAPI: %s %s: %v", r.Method, r.URL.RequestURI(), err)
			}
		}()
		h.ServeHTTP(rec, r)
		panicked = false
	})
}

// capture arranges for r's body to be kept as the handler reads it, and
// returns what it was once the handler is done (nil: unknown, or too
// large to check). A body of known length is read first; one streamed
// without a length (a test feeding an import through a pipe) is kept as
// the handler reads it, and known only if the handler read it to its end.
func capture(r *http.Request) func() []byte {
	if r.Body == nil || r.Body == http.NoBody {
		return func() []byte { return []byte{} }
	}
	if r.ContentLength >= 0 && r.ContentLength <= maxChecked {
		b, body := peek(r.Body)
		r.Body = body
		return func() []byte { return b }
	}
	t := &tee{ReadCloser: r.Body}
	r.Body = t
	return func() []byte {
		if !t.eof || t.tooLong {
			return nil
		}
		return t.buf.Bytes()
	}
}

// tee keeps (up to maxChecked bytes of) what is read through it.
type tee struct {
	io.ReadCloser
	buf          bytes.Buffer
	eof, tooLong bool
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if !t.tooLong {
		if t.buf.Len()+n > maxChecked {
			t.tooLong, t.buf = true, bytes.Buffer{}
		} else {
			t.buf.Write(p[:n])
		}
	}
	if errors.Is(err, io.EOF) {
		t.eof = true
	}
	return n, err
}

// peek reads up to maxChecked bytes of body and returns them (nil when
// the body is longer) and a body that reads the same bytes again.
func peek(body io.ReadCloser) ([]byte, io.ReadCloser) {
	b, err := io.ReadAll(io.LimitReader(body, maxChecked+1))
	rest := struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), body), body}
	if err != nil || len(b) > maxChecked {
		return nil, rest
	}
	return b, rest
}

// recorder passes an answer on while keeping its status, header and (up
// to maxChecked bytes of) body.
type recorder struct {
	http.ResponseWriter
	status  int
	header  http.Header
	body    bytes.Buffer
	tooLong bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.tooLong {
		if r.body.Len()+len(b) > maxChecked {
			r.tooLong = true
			r.body = bytes.Buffer{}
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the export
// sets its own write deadline).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) result() (int, http.Header, []byte) {
	if r.status == 0 { // nothing written: an empty 200
		r.WriteHeader(http.StatusOK)
	}
	if r.tooLong {
		return r.status, r.header, nil
	}
	return r.status, r.header, r.body.Bytes()
}

// Transport returns a RoundTripper (over base; nil: the default) that
// checks every exchange under /api/v1 with c, and answers a mismatch as
// the round trip's error. It reads each answer's body whole.
func Transport(c *Checker, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{c, base}
}

type roundTripper struct {
	c    *Checker
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if !IsAPIPath(r.URL.Path) {
		return rt.base.RoundTrip(r)
	}
	x := Exchange{Request: r}
	if r.Body != nil && r.Body != http.NoBody {
		// A RoundTripper must not change the request: send a copy.
		b, body := peek(r.Body)
		x.RequestBody = b
		r = r.Clone(r.Context())
		r.Body = body
	} else {
		x.RequestBody = []byte{}
	}
	resp, err := rt.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, body := peek(resp.Body)
	resp.Body = body
	x.Status, x.Header, x.Body = resp.StatusCode, resp.Header, b
	if err := rt.c.Check(x); err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("OpenAPI: %s %s: %w", r.Method, r.URL.RequestURI(), err)
	}
	return resp, nil
}

// CheckedTransport is Transport with a checker of spec; a spec that does
// not load fails every round trip under /api/v1 with why. For clients
// made where no test can fail yet (a package's variables).
func CheckedTransport(spec []byte, base http.RoundTripper) http.RoundTripper {
	c, err := New(spec)
	if err != nil {
		return failing{err}
	}
	return Transport(c, base)
}

type failing struct{ err error }

func (f failing) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }
