package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signpost-go/signpost/internal/links"
)

// statusOf is the one place codes become statuses; errorHeaders adds what
// a status promises (Retry-After on 503).
func TestStatusOf(t *testing.T) {
	for code, want := range map[links.Code]int{
		links.Invalid: 400, links.Unauthorized: 401, links.Forbidden: 403, links.NotFound: 404,
		links.MethodNotAllowed: 405, links.Conflict: 409, links.TooLarge: 413, links.UnsupportedMediaType: 415,
		links.Internal: 500, links.Unavailable: 503, links.DiskFull: 507,
	} {
		err := links.Errorf(code, "x")
		if got := statusOf(err); got != want {
			t.Errorf("statusOf(%s) = %d, want %d", code, got, want)
		}
		rec := httptest.NewRecorder()
		errorHeaders(rec, err)
		if got, wantRetry := rec.Header().Get("Retry-After") != "", want == http.StatusServiceUnavailable; got != wantRetry {
			t.Errorf("%s: Retry-After set = %v, want %v", code, got, wantRetry)
		}
	}
}
