package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie names.
const (
	SessionCookie = "signpost_session"
	LoginCookie   = "signpost_login" // the sign-in in progress: state, nonce, PKCE verifier
)

// SessionLifetime bounds a session: sign in again after it.
const SessionLifetime = 12 * time.Hour

// MinKeyLen is the shortest SESSION_KEY entry accepted, in bytes.
const MinKeyLen = 32

// Sessions seals and opens cookies: AES-256-GCM (encrypted and
// authenticated) under keys that every replica shares, so that any replica
// accepts any other's cookie with no shared store. The first key seals;
// every key opens, so that keys can be rotated: add a new key in front,
// and drop the old one once its cookies have expired.
type Sessions struct {
	aeads []cipher.AEAD
	Now   func() time.Time
}

// Session is who a session cookie says is signed in.
type Session struct {
	User   string   `json:"u"`
	Groups []string `json:"g,omitempty"`
}

// NewSessions builds Sessions from SESSION_KEY's comma-separated keys,
// each at least MinKeyLen bytes (a random string, e.g. `openssl rand
// -base64 32`); the AES key is the key's SHA-256.
func NewSessions(keys string) (*Sessions, error) {
	s := &Sessions{Now: time.Now}
	for _, k := range strings.Split(keys, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("each key must be at least %d bytes (one is %d); make one with: openssl rand -base64 32", MinKeyLen, len(k))
		}
		sum := sha256.Sum256([]byte(k))
		block, err := aes.NewCipher(sum[:])
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	if len(s.aeads) == 0 {
		return nil, errors.New("no key given")
	}
	return s, nil
}

type sealed struct {
	Exp int64           `json:"exp"` // unix seconds
	V   json.RawMessage `json:"v"`
}

// Seal encrypts v for the cookie called name, valid for ttl. The name is
// authenticated too: one cookie cannot stand in for another.
func (s *Sessions) Seal(name string, v any, ttl time.Duration) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(sealed{Exp: s.Now().Add(ttl).Unix(), V: b})
	if err != nil {
		return "", err
	}
	aead := s.aeads[0]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

// errCookie: the cookie is not one of ours, or no longer valid.
var errCookie = errors.New("cookie is not valid")

// Open decrypts a value Seal made for name into v. It fails for a value
// that was changed, made with a key no longer configured, made for another
// cookie, or has expired.
func (s *Sessions) Open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return errCookie
	}
	for _, aead := range s.aeads {
		if len(raw) < aead.NonceSize()+aead.Overhead() {
			return errCookie
		}
		plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(name))
		if err != nil {
			continue
		}
		var sv sealed
		if err := json.Unmarshal(plain, &sv); err != nil {
			return errCookie
		}
		if s.Now().Unix() >= sv.Exp {
			return errCookie
		}
		if err := json.Unmarshal(sv.V, v); err != nil {
			return errCookie
		}
		return nil
	}
	return errCookie
}

// Session returns the session r's cookie holds, if it has a valid one.
func (s *Sessions) Session(r *http.Request) (Session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Session{}, false
	}
	var sess Session
	if s.Open(SessionCookie, c.Value, &sess) != nil || sess.User == "" {
		return Session{}, false
	}
	return sess, true
}

// MaxCookieLen is the longest cookie value set: browsers keep 4 KB per
// cookie, name and attributes included.
const MaxCookieLen = 3800

// SetCookie sets the cookie name to a sealed v, valid for ttl. secure says
// whether the browser reached us over TLS.
func (s *Sessions) SetCookie(w http.ResponseWriter, name string, v any, ttl time.Duration, secure bool) error {
	val, err := s.Seal(name, v, ttl)
	if err != nil {
		return err
	}
	if len(val) > MaxCookieLen {
		return fmt.Errorf("the session would be %d bytes, more than a browser keeps (%d)", len(val), MaxCookieLen)
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", MaxAge: int(ttl.Seconds()),
		Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// ClearCookie removes the cookie name.
func ClearCookie(w http.ResponseWriter, name string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		Secure: secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
