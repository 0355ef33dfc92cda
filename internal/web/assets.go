package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// The static files (CSS, JS, the favicon) are read once at start-up,
// fingerprinted with a hash of their content (style.css is served as
// style.<hash>.css, the name the templates use) and compressed once, with
// brotli and gzip, at the highest levels: nothing is compressed per
// request. A fingerprinted name never changes its content, so browsers and
// caches keep it for a year without asking again.
//
// Pages are compressed as they are rendered, when they are large enough
// for it to pay (compressMin). The redirect path never goes through any of
// this: a 302 has no body worth compressing, and the fast path stays free
// of middleware.

const (
	// compressMin is the smallest page worth compressing: below about
	// one packet, compression saves no round trip and costs CPU.
	compressMin = 1024
	// pageBrotliQuality and pageGzipLevel trade CPU for bytes on pages,
	// which are compressed on every request (static files use the best).
	pageBrotliQuality = 5
	pageGzipLevel     = gzip.DefaultCompression
	// pageBrotliWindow bounds a pooled brotli writer's memory (2^18 =
	// 256 KiB of window: more than any page).
	pageBrotliWindow = 18

	// immutable is the caching of a fingerprinted file; revalidate that of
	// a name without its fingerprint (or with another one).
	immutable  = "public, max-age=31536000, immutable"
	revalidate = "no-cache"
)

// asset is one static file and its encodings.
type asset struct {
	name   string // as in the embedded tree: style.css
	hashed string // style.<hash>.css
	ctype  string
	etag   string // the content's hash, quoted: "<hash>"
	plain  []byte
	br, gz []byte // nil when compression does not make it smaller
}

// assets are the static files by name, with and without fingerprints.
type assets struct {
	byName   map[string]*asset // style.css
	byHashed map[string]*asset // style.<hash>.css
}

// loadAssets reads, fingerprints and compresses every file of fsys.
func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:8])
		ext := path.Ext(p)
		f := &asset{name: p, hashed: strings.TrimSuffix(p, ext) + "." + hash + ext, etag: `"` + hash + `"`, plain: b,
			ctype: mime.TypeByExtension(ext)}
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		// A window just large enough for the file compresses it as well as
		// the default (4 MiB) does, in less time and memory: start-up
		// stays a few tens of milliseconds.
		lgwin := 16
		for lgwin < 24 && 1<<lgwin < len(b) {
			lgwin++
		}
		if f.br, err = compressBrotli(b, brotli.BestCompression, lgwin); err != nil {
			return err
		}
		if f.gz, err = compressGzip(b, gzip.BestCompression); err != nil {
			return err
		}
		if len(f.br) >= len(b) {
			f.br = nil
		}
		if len(f.gz) >= len(b) {
			f.gz = nil
		}
		a.byName[p], a.byHashed[f.hashed] = f, f
		return nil
	})
	return a, err
}

func compressBrotli(b []byte, quality, lgwin int) ([]byte, error) {
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: quality, LGWin: lgwin})
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	err := w.Close()
	return buf.Bytes(), err
}

func compressGzip(b []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	err = w.Close()
	return buf.Bytes(), err
}

// path is the URL of the static file name, fingerprinted: what the
// templates link to. An unknown name is a mistake in a template, caught
// when the pages render in the tests.
func (a *assets) path(name string) (string, error) {
	f, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/-/static/" + f.hashed, nil
}

// lookup finds the file a static path names: by its fingerprinted name
// (fresh for a year), or by its plain name or an older fingerprint (a page
// from before a deploy), which get the current content to revalidate.
func (a *assets) lookup(name string) (f *asset, cache string) {
	if f, ok := a.byHashed[name]; ok {
		return f, immutable
	}
	if f, ok := a.byName[name]; ok {
		return f, revalidate
	}
	// style.<other hash>.css: the file under its plain name.
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if i := strings.LastIndexByte(stem, '.'); i > 0 && isHex(stem[i+1:]) {
		if f, ok := a.byName[stem[:i]+ext]; ok {
			return f, revalidate
		}
	}
	return nil, ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !ishex(s[i]) {
			return false
		}
	}
	return s != ""
}

// serve answers a request for a static file: the encoding the client
// prefers among those made at start-up, a strong ETag per encoding (304
// when it matches If-None-Match), and the caching lookup chose.
func (a *assets) serve(w http.ResponseWriter, r *http.Request, name string) bool {
	f, cache := a.lookup(name)
	if f == nil {
		return false
	}
	body, enc, tag := f.plain, "", f.etag
	switch acceptedEncoding(r) {
	case "br":
		if f.br != nil {
			body, enc, tag = f.br, "br", f.etag[:len(f.etag)-1]+`-br"`
		} else if f.gz != nil && accepts(r, "gzip") {
			body, enc, tag = f.gz, "gzip", f.etag[:len(f.etag)-1]+`-gz"`
		}
	case "gzip":
		if f.gz != nil {
			body, enc, tag = f.gz, "gzip", f.etag[:len(f.etag)-1]+`-gz"`
		}
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cache)
	h.Set("ETag", tag)
	if f.br != nil || f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	return true
}

// acceptedEncoding is the compression to answer r with: "br", "gzip" or
// "" (none), from Accept-Encoding (q=0 refuses one; "*" accepts any).
func acceptedEncoding(r *http.Request) string {
	if len(r.Header["Accept-Encoding"]) == 0 {
		return ""
	}
	switch {
	case accepts(r, "br"):
		return "br"
	case accepts(r, "gzip"):
		return "gzip"
	}
	return ""
}

// accepts reports whether r's Accept-Encoding accepts coding: named, or
// through "*", with a q-value above 0.
func accepts(r *http.Request, coding string) bool {
	star := false
	for _, line := range r.Header["Accept-Encoding"] {
		for part := range strings.SplitSeq(line, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, coding) && name != "*" {
				continue
			}
			ok := qAboveZero(params)
			if name != "*" {
				return ok // the coding's own entry wins over "*"
			}
			star = ok
		}
	}
	return star
}

// qAboveZero reads the q parameter of an Accept-Encoding entry (absent:
// 1).
func qAboveZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
	}
	return true
}

// pageCompressor compresses rendered pages with pooled writers (a writer
// allocates its tables once, not per page).
type pageCompressor struct {
	br, gz sync.Pool
}

// resetWriter is a compressing writer that can start over on another
// destination: *gzip.Writer and *brotli.Writer.
type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// compress writes body compressed with enc ("br" or "gzip") to dst.
func (c *pageCompressor) compress(dst *bytes.Buffer, enc string, body []byte) error {
	var w resetWriter
	pool := &c.gz
	if enc == "br" {
		pool = &c.br
	}
	if v := pool.Get(); v != nil {
		w = v.(resetWriter)
		w.Reset(dst)
	} else if enc == "br" {
		w = brotli.NewWriterOptions(dst, brotli.WriterOptions{Quality: pageBrotliQuality, LGWin: pageBrotliWindow})
	} else {
		gw, err := gzip.NewWriterLevel(dst, pageGzipLevel)
		if err != nil {
			return err
		}
		w = gw
	}
	_, err := w.Write(body)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	w.Reset(io.Discard) // let go of dst
	pool.Put(w)
	return err
}

// writePage sends a rendered page: compressed when it is large enough and
// the client accepts it, with a strong ETag of its content when it is a
// 200 (304 when the client has it already). Pages carry who is signed in,
// so no shared cache may keep them, and browsers check back each time
// (the ETag makes that cheap).
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "private, no-cache")
	}
	enc := ""
	if len(body) >= compressMin {
		enc = acceptedEncoding(r)
	}
	if status == http.StatusOK && h.Get("Cache-Control") != "no-store" {
		sum := sha256.Sum256(body)
		tag := `"p` + hex.EncodeToString(sum[:12])
		switch enc {
		case "br":
			tag += "-br"
		case "gzip":
			tag += "-gz"
		}
		tag += `"`
		h.Set("ETag", tag)
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && noneMatch(r, tag) {
			delete(h, "Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if enc != "" {
		var buf bytes.Buffer
		buf.Grow(len(body) / 3)
		if err := s.compressor.compress(&buf, enc, body); err == nil {
			h.Set("Content-Encoding", enc)
			body = buf.Bytes()
		} else {
			s.opt.Log.Warn("page compression failed; sent as is", "encoding", enc, "err", err)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// noneMatch reports whether If-None-Match names tag (weakly compared, as
// RFC 9110 says for If-None-Match), or is "*".
func noneMatch(r *http.Request, tag string) bool {
	for _, line := range r.Header["If-None-Match"] {
		for t := range strings.SplitSeq(line, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == tag || t == "*" {
				return true
			}
		}
	}
	return false
}
