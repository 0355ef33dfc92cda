package apitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/signpost-go/signpost/internal/web"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

const (
	link     = `{"name":"docs","url":"https://docs.example","alias_of":"","description":"","owner":"","tags":[],"version":1,"clicks":0,"last_clicked_at":null,"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`
	notFound = `{"error":{"code":"not_found","message":"no such link"}}`
)

func newChecker(t *testing.T) *apitest.Checker {
	t.Helper()
	c, err := apitest.New(web.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Each way an answer or a request can drift from the description is
// caught, and what matches it passes: the checker is only worth what it
// refuses.
func TestCheckerCatchesDrift(t *testing.T) {
	c := newChecker(t)
	js := "application/json"
	etag := `"1.1"`
	tests := []struct {
		name                string
		method, path        string
		reqType, reqBody    string
		status              int
		header              []string // name, value pairs
		body                string
		wantErr             string // "" for a match
		reqHeader           []string
		omitResponseHeaders bool
	}{
		{name: "a link", method: "GET", path: "/api/v1/links/docs", status: 200,
			header: []string{"Content-Type", js, "ETag", etag, "Accept-Patch", "application/merge-patch+json"}, body: link},
		{name: "HEAD of a link", method: "HEAD", path: "/api/v1/links/docs", status: 200, header: []string{"ETag", etag}},
		{name: "HEAD with a status GET lacks", method: "HEAD", path: "/api/v1/links/docs", status: 409, wantErr: "does not list"},
		{name: "a member the description lacks", method: "GET", path: "/api/v1/links/docs", status: 200,
			header: []string{"Content-Type", js, "ETag", etag, "Accept-Patch", "application/merge-patch+json"},
			body:   strings.Replace(link, `"clicks":0`, `"clicks":0,"hits":0`, 1), wantErr: "hits"},
		{name: "a member missing", method: "GET", path: "/api/v1/links/docs", status: 200,
			header: []string{"Content-Type", js, "ETag", etag, "Accept-Patch", "application/merge-patch+json"},
			body:   strings.Replace(link, `"clicks":0,`, ``, 1), wantErr: "clicks"},
		{name: "a required header missing", method: "GET", path: "/api/v1/links/docs", status: 200,
			header: []string{"Content-Type", js, "Accept-Patch", "application/merge-patch+json"}, body: link, wantErr: "ETag"},
		{name: "a malformed ETag", method: "GET", path: "/api/v1/links/docs", status: 200,
			header: []string{"Content-Type", js, "ETag", `W/"x"`, "Accept-Patch", "application/merge-patch+json"}, body: link, wantErr: "ETag"},
		{name: "a status the operation lacks", method: "GET", path: "/api/v1/links/docs", status: 409,
			header: []string{"Content-Type", js}, body: `{"error":{"code":"conflict","message":"x"}}`, wantErr: "status is not supported"},
		{name: "an error in plain text", method: "GET", path: "/api/v1/links/docs", status: 404,
			header: []string{"Content-Type", "text/plain; charset=utf-8"}, body: "404 page not found\n", wantErr: "text/plain"},
		{name: "an error code that is not its status's", method: "GET", path: "/api/v1/links/docs", status: 404,
			header: []string{"Content-Type", js}, body: `{"error":{"code":"invalid","message":"x"}}`, wantErr: "not_found"},
		{name: "an error of another shape", method: "GET", path: "/api/v1/links/docs", status: 404,
			header: []string{"Content-Type", "application/problem+json"}, body: `{"type":"about:blank","status":404}`, wantErr: "problem+json"},
		{name: "a 503 without Retry-After", method: "GET", path: "/api/v1/links", status: 503,
			header: []string{"Content-Type", js}, body: `{"error":{"code":"unavailable","message":"x"}}`, wantErr: "Retry-After"},
		{name: "a 503 with Retry-After", method: "GET", path: "/api/v1/links", status: 503,
			header: []string{"Content-Type", js, "Retry-After", "5"}, body: `{"error":{"code":"unavailable","message":"x"}}`},
		{name: "a path the description lacks, answered 404", method: "GET", path: "/api/v1/nothing", status: 404,
			header: []string{"Content-Type", js}, body: `{"error":{"code":"not_found","message":"no API endpoint"}}`},
		{name: "a path the description lacks, served", method: "GET", path: "/api/v1/stats", status: 200,
			header: []string{"Content-Type", js}, body: `{}`, wantErr: "must be answered 404"},
		{name: "a method the path lacks, served", method: "PATCH", path: "/api/v1/tokens/abc", status: 204, wantErr: "must be answered 405"},
		{name: "a 405 with the described Allow", method: "PATCH", path: "/api/v1/tokens/abc", status: 405,
			header: []string{"Content-Type", js, "Allow", "DELETE"}, body: `{"error":{"code":"method_not_allowed","message":"x"}}`},
		{name: "a 405 whose Allow is not the description's", method: "PUT", path: "/api/v1/links", status: 405,
			header: []string{"Content-Type", js, "Allow", "GET, HEAD"}, body: `{"error":{"code":"method_not_allowed","message":"x"}}`, wantErr: "Allow"},
		{name: "a request the description refuses, served", method: "POST", path: "/api/v1/links", reqType: js,
			reqBody: `{"name":"docs","url":"https://docs.example","colour":"red"}`, status: 201,
			header: []string{"Content-Type", js, "ETag", etag, "Location", "/api/v1/links/docs"}, body: link, wantErr: "refuses the request"},
		{name: "a request the description refuses, refused", method: "POST", path: "/api/v1/links", reqType: js,
			reqBody: `{"name":"docs","url":"https://docs.example","colour":"red"}`, status: 400,
			header: []string{"Content-Type", js}, body: `{"error":{"code":"invalid","message":"unknown field"}}`},
		{name: "a text/plain body, served", method: "POST", path: "/api/v1/links/docs/restore", reqType: "text/plain",
			reqBody: `{"version":1}`, status: 200, header: []string{"Content-Type", js, "ETag", etag}, body: link, wantErr: "refuses the request"},
		{name: "a query parameter out of range, served", method: "GET", path: "/api/v1/links?limit=5000", status: 200,
			header: []string{"Content-Type", js}, body: `{"links":[],"total":0}`, wantErr: "refuses the request"},
		{name: "a page", method: "GET", path: "/api/v1/links?limit=5&tag=a&tag=b", status: 200,
			header: []string{"Content-Type", js}, body: `{"links":[` + link + `],"total":7,"next":"abc"}`},
		{name: "an export", method: "GET", path: "/api/v1/export", status: 200,
			header: []string{"Content-Type", "application/x-ndjson", "Content-Disposition", "attachment"}, body: link + "\n" + link + "\n"},
		{name: "an export line that is not a link", method: "GET", path: "/api/v1/export", status: 200,
			header: []string{"Content-Type", "application/x-ndjson", "Content-Disposition", "attachment"}, body: link + "\n{\"name\":1}\n", wantErr: "/1/"},
		{name: "an import's bad lines", method: "POST", path: "/api/v1/import", reqType: "application/x-ndjson", reqBody: "{\"name\":\"a\"}\n",
			status: 400, header: []string{"Content-Type", js},
			body: `{"error":{"code":"invalid","message":"1 bad line"},"lines":[{"line":1,"reason":"url is required"}],"bad_lines":1}`},
		{name: "a refused conditional write", method: "PATCH", path: "/api/v1/links/docs", reqType: "application/merge-patch+json",
			reqBody: `{"url":"https://x.example"}`, reqHeader: []string{"If-Match", `"1.1"`}, status: 412,
			header: []string{"Content-Type", js, "ETag", `"1.2"`},
			body:   `{"error":{"code":"precondition_failed","message":"x"},"current":` + link + `}`},
		{name: "a new token without its secret", method: "POST", path: "/api/v1/tokens", reqType: js,
			reqBody: `{"name":"ci","scopes":["links:read"]}`, status: 201, header: []string{"Content-Type", js, "Cache-Control", "no-store"},
			body:    `{"id":"1","name":"ci","owner":"a@x","scopes":["links:read"],"created_at":"2026-01-02T03:04:05Z","last_used_at":null,"expires_at":null}`,
			wantErr: "token"},
		{name: "an unknown scope", method: "POST", path: "/api/v1/tokens", reqType: js,
			reqBody: `{"name":"ci","scopes":["links:everything"]}`, status: 201, header: []string{"Content-Type", js, "Cache-Control", "no-store"},
			body:    `{"id":"1","name":"ci","owner":"a@x","scopes":["links:read"],"created_at":"2026-01-02T03:04:05Z","last_used_at":null,"expires_at":null,"token":"sp_1_x"}`,
			wantErr: "refuses the request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.reqBody))
			if tt.reqType != "" {
				req.Header.Set("Content-Type", tt.reqType)
			}
			for i := 0; i+1 < len(tt.reqHeader); i += 2 {
				req.Header.Set(tt.reqHeader[i], tt.reqHeader[i+1])
			}
			h := http.Header{}
			for i := 0; i+1 < len(tt.header); i += 2 {
				h.Set(tt.header[i], tt.header[i+1])
			}
			err := c.Check(apitest.Exchange{Request: req, RequestBody: []byte(tt.reqBody), Status: tt.status, Header: h, Body: []byte(tt.body)})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("passed; want an error about %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %v; want one about %q", err, tt.wantErr)
			}
		})
	}
}

// The Handler fails its test on a drift, from the server's goroutine;
// the Transport answers one as the round trip's error. Both pass the
// request's body on unchanged, and what is not the API untouched.
func TestHandlerAndTransport(t *testing.T) {
	c := newChecker(t)
	var gotBody string
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch r.URL.Path {
		case "/api/v1/links/docs": // drifts: 404 in plain text
			http.NotFound(w, r)
		case "/api/v1/links/x":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, notFound)
		default:
			io.WriteString(w, "not the API")
		}
	})

	rec := &recordingTB{TB: t}
	srv := httptest.NewServer(apitest.Handler(rec, c, app))
	for _, p := range []string{"/api/v1/links/x", "/docs", "/api/v1/links/docs"} {
		req, _ := http.NewRequest("PATCH", srv.URL+p, strings.NewReader(`{"url":"https://x"}`))
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if gotBody != `{"url":"https://x"}` {
			t.Errorf("%s: the handler read %q", p, gotBody)
		}
	}
	srv.Close() // waits for the handlers, and so for their checks
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "/api/v1/links/docs") {
		t.Fatalf("Handler reported %q; want the one drift", rec.errors)
	}

	plain := httptest.NewServer(app)
	defer plain.Close()
	client := &http.Client{Transport: apitest.Transport(c, nil)}
	for p, wantErr := range map[string]bool{"/api/v1/links/x": false, "/docs": false, "/api/v1/links/docs": true} {
		req, _ := http.NewRequest("PATCH", plain.URL+p, strings.NewReader(`{"url":"https://x"}`))
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, err := client.Do(req)
		if (err != nil) != wantErr {
			t.Errorf("%s: err = %v, want an error: %v", p, err, wantErr)
		}
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if p == "/api/v1/links/x" && string(b) != notFound {
				t.Errorf("%s: the client read %q", p, b)
			}
		}
		if gotBody != `{"url":"https://x"}` {
			t.Errorf("%s: the server read %q", p, gotBody)
		}
	}
}

// recordingTB keeps what Errorf is told instead of failing.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
