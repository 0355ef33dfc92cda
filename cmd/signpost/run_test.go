package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/web"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

// logSink collects run's log output and finds the address it serves on.
type logSink struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	once sync.Once
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for _, line := range strings.Split(string(p), "\n") {
		var m struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "serving" {
			l.once.Do(func() { l.addr <- m.Addr })
		}
	}
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type instance struct {
	URL  string
	Log  *logSink
	stop func() error
}

// startRun drives run("serve") on 127.0.0.1:0 with env on top of fast test
// defaults, and returns once it serves. Stop cancels its context and waits.
func startRun(t *testing.T, env map[string]string) *instance {
	t.Helper()
	base := map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "DEBUG_ADDR": "off", "SHUTDOWN_DELAY": "0s", "SHUTDOWN_TIMEOUT": "5s",
		"LOG_LEVEL": "debug",
	}
	for k, v := range env {
		base[k] = v
	}
	getenv := func(k string) string { return base[k] }
	ctx, cancel := context.WithCancel(context.Background())
	sink := &logSink{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"signpost", "serve"}, getenv, io.Discard, sink) }()
	select {
	case addr := <-sink.addr:
		var once sync.Once
		var stopErr error
		inst := &instance{URL: "http://" + addr, Log: sink, stop: func() error {
			once.Do(func() {
				cancel()
				select {
				case stopErr = <-done:
				case <-time.After(20 * time.Second):
					t.Errorf("run did not return within 20s of cancel")
				}
			})
			return stopErr
		}}
		t.Cleanup(func() { inst.stop() })
		return inst
	case err := <-done:
		cancel()
		t.Fatalf("run returned before serving: %v\n%s", err, sink.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("run did not start serving within 30s\n%s", sink.String())
	}
	return nil
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     apitest.CheckedTransport(web.OpenAPI(), nil),
}

func mustDo(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRunEndToEndAndRestart(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "e2e.db")
	a := startRun(t, map[string]string{"DATABASE_URL": db})
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := mustDo(t, "GET", a.URL+path, ""); resp.StatusCode != 200 {
			t.Fatalf("%s = %d %s", path, resp.StatusCode, body)
		}
	}
	resp, body := mustDo(t, "POST", a.URL+"/api/v1/links", `{"name":"Docs","url":"https://docs.example/x"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	for i := 0; i < 3; i++ {
		resp, _ = mustDo(t, "GET", a.URL+"/docs/page?q=1", "")
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://docs.example/x/page?q=1" {
			t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if !strings.Contains(a.Log.String(), "AUTH_MODE=none") {
		t.Error("no warning logged for AUTH_MODE=none")
	}
	if err := a.stop(); err != nil {
		t.Fatalf("run returned %v on shutdown", err)
	}
	if !strings.Contains(a.Log.String(), "shutdown complete") {
		t.Errorf("no shutdown log:\n%s", a.Log.String())
	}

	// A restart on the same file keeps the link and the clicks flushed at shutdown.
	b := startRun(t, map[string]string{"DATABASE_URL": db})
	resp, body = mustDo(t, "GET", b.URL+"/api/v1/links/docs", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"clicks":3`) {
		t.Fatalf("after restart: %d %s", resp.StatusCode, body)
	}
	if resp, _ := mustDo(t, "GET", b.URL+"/DOCS", ""); resp.StatusCode != 302 {
		t.Fatalf("redirect after restart: %d", resp.StatusCode)
	}
}

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), append([]string{"signpost"}, args...), getenv, &out, &errb)
	return exitCode(err, &errb), out.String(), errb.String()
}

func TestCLIExportImportMigrate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "cli.db")}
	code, out, errs := runCLI(t, env, "migrate")
	if code != 0 || !strings.HasPrefix(out, "schema version ") {
		t.Fatalf("migrate: %d %q %q", code, out, errs)
	}
	in := filepath.Join(dir, "in.ndjson")
	os.WriteFile(in, []byte(`{"name":"a","url":"https://a.example"}
{"Short":"gl","Long":"https://golink.example","Owner":"x@y"}
`), 0o644)
	code, _, errs = runCLI(t, env, "import", in)
	if code != 0 || !strings.Contains(errs, "imported 2 links") {
		t.Fatalf("import: %d %q", code, errs)
	}
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte("{\"name\":\"b\",\"url\":\"https://b.example\"}\n{\"name\":\"c\",\"url\":\"file:///x\"}\n"), 0o644)
	os.WriteFile(bad, []byte("{\"name\":\"b\",\"url\":\"https://b.example\"}\n{\"name\":\"c\",\"url\":\"file:///x\"}\nnot json\n"), 0o644)
	code, _, errs = runCLI(t, env, "import", bad)
	wantErrs := bad + ":2: url scheme \"file\" is not allowed; only http and https are\n" +
		bad + ":3: not a JSON object: invalid character 'o' in literal null (expecting 'u') at byte 2\n" +
		"signpost: 2 bad line(s) in " + bad + "; nothing was imported\n"
	if code != 1 || errs != wantErrs {
		t.Fatalf("bad import: exit %d\n%s\nwant every bad line:\n%s", code, errs, wantErrs)
	}
	if _, out, _ := runCLI(t, env, "export"); strings.Contains(out, `"name":"b"`) {
		t.Fatal("an import with bad lines stored its good ones")
	}
	out2 := filepath.Join(dir, "out.ndjson")
	code, _, errs = runCLI(t, env, "export", "--out", out2)
	if code != 0 || !strings.Contains(errs, "exported 2 links to "+out2) {
		t.Fatalf("export: %d %q", code, errs)
	}
	data, _ := os.ReadFile(out2)
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || !strings.Contains(lines[1], `"name":"gl"`) || !strings.Contains(lines[1], `"owner":"x@y"`) {
		t.Fatalf("export file:\n%s", data)
	}
	code, out, _ = runCLI(t, env, "export")
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("export to stdout: %d %q", code, out)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		code int
		msg  string
	}{
		{[]string{}, nil, 2, "missing command"},
		{[]string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--nope"}, nil, 2, "flag provided but not defined: -nope"},
		{[]string{"serve", "extra"}, nil, 2, `serve: unexpected argument "extra"`},
		{[]string{"serve"}, map[string]string{"LOG_LEVEL": "loud"}, 2, "LOG_LEVEL"},
		{[]string{"serve"}, map[string]string{"DATABASE_URL": "mysql://x"}, 2, "DATABASE_URL"},
		{[]string{"serve"}, map[string]string{"CLICK_FLUSH_INTERVAL": "soon"}, 2, "CLICK_FLUSH_INTERVAL"},
		{[]string{"import"}, nil, 2, "give one FILE"},
		{[]string{"export", "extra"}, nil, 2, "unexpected argument"},
		{[]string{"import", "/nonexistent/file.ndjson"}, nil, 1, "no such file"},
		{[]string{"healthcheck", "--http-addr", "127.0.0.1:1"}, nil, 1, "healthcheck"},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(t, tt.env, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.msg) {
			t.Errorf("signpost %v: exit %d %q, want %d containing %q", tt.args, code, errs, tt.code, tt.msg)
		}
		if lines := strings.Split(strings.TrimSpace(errs), "\n"); !strings.HasPrefix(lines[len(lines)-1], "signpost: ") {
			t.Errorf("signpost %v: last stderr line %q is not the one-line error", tt.args, lines[len(lines)-1])
		}
		// Unknown commands and flags show usage; a bad value is one line.
		wantUsage := tt.code == 2 && tt.env == nil && tt.msg != "give one FILE" && !strings.Contains(tt.msg, "unexpected argument")
		if got := strings.Contains(errs, "Usage: signpost"); got != wantUsage {
			t.Errorf("signpost %v: usage shown = %v, want %v\n%s", tt.args, got, wantUsage, errs)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "export", "import", "migrate", "healthcheck", "backup", "version"} {
		code, out, _ := runCLI(t, nil, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Usage: signpost "+cmd) {
			t.Errorf("%s --help: %d %q", cmd, code, out)
		}
	}
	_, out, _ := runCLI(t, nil, "serve", "--help")
	for _, want := range []string{"HTTP_ADDR", "DATABASE_URL", "CLICK_FLUSH_INTERVAL", "GOMEMLIMIT", "--shutdown-delay"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %s", want)
		}
	}
}

func TestVersionUnstamped(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.Contains(out, "signpost dev") || !strings.Contains(out, "go: go1.") {
		t.Fatalf("version: %d %q", code, out)
	}
	for _, flag := range []string{"--version", "-version"} {
		if code, out2, errs := runCLI(t, nil, flag); code != 0 || out2 != out {
			t.Errorf("signpost %s: exit %d %q %q, want what `signpost version` prints", flag, code, out2, errs)
		}
	}
	if code, _, errs := runCLI(t, nil, "--version", "extra"); code != 2 || !strings.Contains(errs, "takes no arguments") {
		t.Errorf("signpost --version extra: exit %d %q, want 2", code, errs)
	}
}
