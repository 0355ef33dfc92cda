package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestHealthcheckURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/healthz",
		"[::]:8080":      "http://[::1]:8080/healthz",
		"127.0.0.1:9000": "http://127.0.0.1:9000/healthz",
		"[::1]:8080":     "http://[::1]:8080/healthz",
		"10.1.2.3:80":    "http://10.1.2.3:80/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
		"[fe80::1]:8080": "http://[fe80::1]:8080/healthz",
	} {
		if got, err := healthcheckURL(addr); err != nil || got != want {
			t.Errorf("healthcheckURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, bad := range []string{"nonsense", "8080", "[::1", "127.0.0.1:"} {
		if got, err := healthcheckURL(bad); err == nil {
			t.Errorf("healthcheckURL(%q) = %q, want an error", bad, got)
		}
	}
}

// A server on IPv6 loopback only: the check follows HTTP_ADDR's host there,
// and asking 127.0.0.1 instead would fail.
func TestHealthcheckFollowsIPv6Host(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, tc := range []struct {
		addr string
		code int
	}{
		{"[::1]:" + port, 0},
		{"[::]:" + port, 0},
		{"127.0.0.1:" + port, 1},
	} {
		code, out, errs := runCLI(t, map[string]string{"HTTP_ADDR": tc.addr}, "healthcheck")
		if code != tc.code || (code == 0 && strings.TrimSpace(out) != "ok") {
			t.Errorf("healthcheck with HTTP_ADDR=%s: exit %d %q %q, want %d", tc.addr, code, out, errs, tc.code)
		}
	}
}

// `export --out` creates its file as a plain create would (0666 less the
// umask), and keeps the mode of a file it replaces.
func TestExportFileMode(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "m.db")}
	if code, _, errs := runCLI(t, env, "migrate"); code != 0 { // export opens the database read-only: it must exist
		t.Fatal(errs)
	}
	umask := syscall.Umask(0o022)
	defer syscall.Umask(umask)
	out := filepath.Join(dir, "links.ndjson")
	if code, _, errs := runCLI(t, env, "export", "--out", out); code != 0 {
		t.Fatal(errs)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("new export file: %v %v, want mode 0644", fi.Mode(), err)
	}
	if err := os.Chmod(out, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, env, "export", "--out", out); code != 0 {
		t.Fatal(errs)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("replaced export file: %v %v, want its mode 0600 kept", fi.Mode(), err)
	}
}
