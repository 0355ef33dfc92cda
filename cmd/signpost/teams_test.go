package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/web"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

const testSessionKey = "serve-test-session-key-0123456789abcdef"

// An issuer that is down at start: serve starts, is ready, serves
// redirects, and answers sign-in with a 503 while it retries discovery.
func TestServeOIDCIssuerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close()
	db := "sqlite:" + filepath.Join(t.TempDir(), "down.db")
	a := startRun(t, map[string]string{"DATABASE_URL": db, "AUTH_MODE": "oidc", "OIDC_ISSUER": issuer,
		"OIDC_CLIENT_ID": "signpost", "SESSION_KEY": testSessionKey})
	if resp, body := mustDo(t, "GET", a.URL+"/readyz", ""); resp.StatusCode != 200 {
		t.Fatalf("/readyz with the issuer down = %d %s", resp.StatusCode, body)
	}
	resp, body := mustDo(t, "GET", a.URL+"/-/login", "")
	if resp.StatusCode != 503 || !strings.Contains(body, "Sign-in is unavailable") {
		t.Fatalf("/-/login with the issuer down = %d %s", resp.StatusCode, body)
	}
	// Anonymous writes need a sign-in; reads do not.
	if resp, _ := mustDo(t, "POST", a.URL+"/api/v1/links", `{"name":"x","url":"https://x.example"}`); resp.StatusCode != 401 {
		t.Fatalf("anonymous create = %d", resp.StatusCode)
	}
	if resp, _ := mustDo(t, "GET", a.URL+"/-/", ""); resp.StatusCode != 200 {
		t.Fatalf("home = %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(a.Log.String(), "OpenID provider discovery failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no discovery failure logged:\n%s", a.Log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(a.Log.String(), testSessionKey) {
		t.Fatal("the session key is in the log")
	}
}

// serve with AUTH_MODE=oidc against the real test provider: a person signs
// in, makes a read-only token for a script, and the script reads with it
// and may not write.
func TestServeOIDCAndTokens(t *testing.T) {
	issuer := os.Getenv("SIGNPOST_TEST_OIDC_ISSUER")
	if issuer == "" {
		t.Skip("SIGNPOST_TEST_OIDC_ISSUER is not set (scripts/test-oidc.sh starts the test provider)")
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secret, []byte("signpost-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startRun(t, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "oidc.db"), "AUTH_MODE": "oidc",
		"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "signpost", "OIDC_CLIENT_SECRET_FILE": secret,
		"SESSION_KEY": testSessionKey, "ADMINS": "root@example.com", "OIDC_ALLOWED_DOMAINS": "example.com"})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: apitest.CheckedTransport(web.OpenAPI(), nil), CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Hostname() != "127.0.0.1" {
			return fmt.Errorf("redirected off loopback to %s", req.URL)
		}
		return nil
	}}
	// Discovery may take a moment after start.
	var login *http.Response
	for i := 0; ; i++ {
		resp, err := browser.Get(a.URL + "/-/login?return=/-/tokens")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			login = resp
			break
		}
		resp.Body.Close()
		if i == 100 {
			t.Fatalf("sign-in did not become available: %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	login.Body.Close()
	form := *login.Request.URL
	form.RawQuery = ""
	resp, err := browser.PostForm(form.String(), url.Values{"id": {login.Request.URL.Query().Get("id")}, "email": {"ana@example.com"}, "password": {"ana"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/-/tokens" || !strings.Contains(string(b), "ana@example.com") {
		t.Fatalf("after sign-in: %s %s", resp.Request.URL, b)
	}

	// The signed-in person makes a token over the API (the session cookie
	// authenticates it), then a link.
	post := func(c *http.Client, path, body string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(browser, "/api/v1/tokens", `{"name":"ci","scopes":["links:read"]}`)
	if code != 201 {
		t.Fatalf("create token: %d %s", code, body)
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(body), &tok)
	if code, body := post(browser, "/api/v1/links", `{"name":"docs","url":"https://docs.example"}`); code != 201 || !strings.Contains(body, `"owner":"ana@example.com"`) {
		t.Fatalf("create link: %d %s", code, body)
	}

	// The script, with no cookies: reads with the token, may not write.
	req, _ := http.NewRequest("GET", a.URL+"/api/v1/links/docs", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("read with the token: %d", resp.StatusCode)
	}
	if code, body := post(client, "/api/v1/links", `{"name":"bot","url":"https://bot.example"}`, "Authorization", "Bearer "+tok.Token); code != 403 || !strings.Contains(body, "links:write") {
		t.Fatalf("write with a read-only token: %d %s", code, body)
	}
	if code, _ := post(client, "/api/v1/links", `{"name":"bot","url":"https://bot.example"}`, "Authorization", "Bearer sp_0000000000000000_"+strings.Repeat("x", 43)); code != 401 {
		t.Fatalf("write with a made-up token: %d", code)
	}
	if strings.Contains(a.Log.String(), "signpost-secret") || strings.Contains(a.Log.String(), testSessionKey) {
		t.Fatal("a secret is in the log")
	}
}
