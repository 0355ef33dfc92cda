package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
)

// openapiJSON is the API's OpenAPI 3.1 description, written by hand: the
// one source of truth, served as it is and checked against every API
// exchange of the tests (internal/web/apitest).
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns a copy of the API's OpenAPI description (JSON).
func OpenAPI() []byte { return bytes.Clone(openapiJSON) }

// openapiETag is the description's strong ETag: its hash, so that it
// changes with the document and nothing else (computed once: the
// document is a constant of the binary).
var openapiETag = sync.OnceValue(func() string {
	sum := sha256.Sum256(openapiJSON)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
})

// apiOpenAPI serves the description, to anyone (it is the same for every
// server of a version), with an ETag for If-None-Match.
func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	etag := openapiETag()
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/")); t == etag || t == "*" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	h.Set("Content-Type", "application/json")
	w.Write(openapiJSON)
}
