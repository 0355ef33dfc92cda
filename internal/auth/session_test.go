package auth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	keyA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	keyB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func mustSessions(t *testing.T, keys string, now *time.Time) *Sessions {
	t.Helper()
	s, err := NewSessions(keys)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return *now }
	return s
}

// sessionRequest is a request carrying the cookie that w set.
func sessionRequest(t *testing.T, w *httptest.ResponseRecorder) *http.Request {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

func TestSessionCookies(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	replica1 := mustSessions(t, keyA, &now)
	want := Session{User: "ana@x", Groups: []string{"sre"}}
	w := httptest.NewRecorder()
	if err := replica1.SetCookie(w, SessionCookie, want, SessionLifetime, true); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != int(SessionLifetime.Seconds()) {
		t.Fatalf("cookie attributes: %+v", c)
	}
	if strings.Contains(c.Value, "ana") {
		t.Fatal("the cookie shows its content: it is not encrypted")
	}

	tests := []struct {
		name   string
		opener *Sessions
		value  func(string) string
		at     time.Duration // after sealing
		ok     bool
	}{
		{"same replica", replica1, nil, 0, true},
		{"another replica with the same key", mustSessions(t, keyA, &now), nil, time.Hour, true},
		{"after rotation: new key first, old still listed", mustSessions(t, keyB+","+keyA, &now), nil, 0, true},
		{"old key rotated out", mustSessions(t, keyB, &now), nil, 0, false},
		{"expired", replica1, nil, SessionLifetime, false},
		{"tampered: one bit flipped", replica1, flipBit, 0, false},
		{"tampered: truncated", replica1, func(v string) string { return v[:len(v)-4] }, 0, false},
		{"not base64", replica1, func(string) string { return "!!!" }, 0, false},
		{"empty", replica1, func(string) string { return "" }, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := now
			defer func() { now = saved }()
			r := httptest.NewRequest("GET", "/", nil)
			v := c.Value
			if tt.value != nil {
				v = tt.value(v)
			}
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: v})
			now = now.Add(tt.at)
			got, ok := tt.opener.Session(r)
			if ok != tt.ok {
				t.Fatalf("Session ok = %v, want %v (got %+v)", ok, tt.ok, got)
			}
			if ok && (got.User != want.User || len(got.Groups) != 1 || got.Groups[0] != "sre") {
				t.Fatalf("Session = %+v", got)
			}
		})
	}

	// A value sealed for one cookie does not open as another: the sign-in
	// cookie cannot pass for a session.
	login, err := replica1.Seal(LoginCookie, want, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: login})
	if _, ok := replica1.Session(r); ok {
		t.Fatal("a login cookie's value was accepted as a session")
	}
}

func flipBit(v string) string {
	b, _ := base64.RawURLEncoding.DecodeString(v)
	b[len(b)/2] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestNewSessionsKeys(t *testing.T) {
	for _, keys := range []string{"", " , ", "short", keyA + ",short"} {
		if _, err := NewSessions(keys); err == nil {
			t.Errorf("NewSessions(%q) accepted", keys)
		}
	}
	if _, err := NewSessions(keyA + ", " + keyB); err != nil {
		t.Fatal(err)
	}
}

func TestCookieTooLargeRefused(t *testing.T) {
	now := time.Now()
	s := mustSessions(t, keyA, &now)
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = strings.Repeat("g", 30)
	}
	w := httptest.NewRecorder()
	if err := s.SetCookie(w, SessionCookie, Session{User: "a@x", Groups: groups}, time.Hour, false); err == nil {
		t.Fatal("a session larger than a browser keeps was set")
	}
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("a cookie was set anyway")
	}
}
