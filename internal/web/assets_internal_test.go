package web

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// Pages below compressMin go as they are: compression would save no round
// trip. At and above it, they are compressed.
func TestPagesCompressedOnlyAboveTheThreshold(t *testing.T) {
	s := &Server{opt: Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	for _, tt := range []struct {
		size int
		enc  string
	}{{10, ""}, {compressMin - 1, ""}, {compressMin, "gzip"}, {64 << 10, "gzip"}} {
		r := httptest.NewRequest("GET", "/-/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		s.writePage(w, r, 200, []byte(strings.Repeat("<p>page</p>", tt.size/11+1)[:tt.size]))
		if got := w.Header().Get("Content-Encoding"); got != tt.enc {
			t.Errorf("%d bytes: Content-Encoding %q, want %q", tt.size, got, tt.enc)
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%d bytes: Vary %q", tt.size, w.Header().Get("Vary"))
		}
	}
}

func TestAcceptedEncoding(t *testing.T) {
	for accept, want := range map[string]string{
		"":                         "",
		"identity":                 "",
		"gzip, deflate":            "gzip",
		"gzip, deflate, br, zstd":  "br",
		"br;q=0, gzip":             "gzip",
		"br; q=0.0, gzip;q=0.1":    "gzip",
		"gzip;q=0":                 "",
		"*":                        "br",
		"*, br;q=0":                "gzip",
		"*;q=0, gzip":              "gzip",
		"deflate":                  "",
		"Br":                       "br",
		"gzip;q=bogus":             "",
		"x-gzip, compress, gzip2z": "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if accept != "" {
			r.Header.Set("Accept-Encoding", accept)
		}
		if got := acceptedEncoding(r); got != want {
			t.Errorf("Accept-Encoding %q: %q, want %q", accept, got, want)
		}
	}
}
