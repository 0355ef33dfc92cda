package main_test

// These tests build the signpost binary once and run it as a subprocess,
// the way Kubernetes and Docker do: real signals, real exit codes, real
// sockets, a real cgroup. They take a few seconds (short SHUTDOWN_DELAY
// and SHUTDOWN_TIMEOUT values).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/web"
	"github.com/signpost-go/signpost/internal/web/apitest"
)

const (
	stampVersion  = "v9.8.7"
	stampRevision = "0123abcd"
	stampDate     = "2026-01-02T03:04:05Z"
	buildinfoPkg  = "github.com/signpost-go/signpost/internal/buildinfo"
)

// TestBinary builds signpost once, stamped with -ldflags -X, and runs the
// subprocess tests against it in parallel.
func TestBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "signpost")
	ldflags := fmt.Sprintf("-X %[1]s.Version=%[2]s -X %[1]s.Revision=%[3]s -X %[1]s.Date=%[4]s", buildinfoPkg, stampVersion, stampRevision, stampDate)
	build(t, goTool, bin, "-ldflags", ldflags)

	t.Run("Version", func(t *testing.T) {
		t.Parallel()
		out := mustRun(t, bin, nil, "version")
		for _, want := range []string{"signpost " + stampVersion, "revision: " + stampRevision, "built: " + stampDate, "go: go1."} {
			if !strings.Contains(out, want) {
				t.Errorf("version output lacks %q:\n%s", want, out)
			}
		}
	})
	// Unstamped ("dev") is TestVersionUnstamped: the test binary is a plain
	// build, and a second link here would cost seconds.
	t.Run("ShutdownDropsNothing", func(t *testing.T) { t.Parallel(); testShutdown(t, bin) })
	t.Run("SecondSignalExitsAtOnce", func(t *testing.T) { t.Parallel(); testSecondSignal(t, bin) })
	t.Run("SecondSignalDuringProfilePush", func(t *testing.T) { t.Parallel(); testSecondSignalDuringPush(t, bin) })
	t.Run("ProbesWhileStarting", func(t *testing.T) { t.Parallel(); testProbesWhileStarting(t, bin) })
	t.Run("SignalDuringStartupSQLite", func(t *testing.T) { t.Parallel(); testSignalDuringStartupSQLite(t, bin) })
	t.Run("SignalDuringStartupPostgres", func(t *testing.T) { t.Parallel(); testSignalDuringStartupPostgres(t, bin) })
	t.Run("SecondSignalDuringFlushPostgres", func(t *testing.T) { t.Parallel(); testSecondSignalDuringFlush(t, bin) })
	t.Run("SlowlorisCutOff", func(t *testing.T) { t.Parallel(); testSlowloris(t, bin) })
	t.Run("Healthcheck", func(t *testing.T) { t.Parallel(); testHealthcheck(t, bin) })
	t.Run("DebugMetricsProfiling", func(t *testing.T) { t.Parallel(); testDebugMetricsProfiling(t, bin) })
	t.Run("MetricsAddr", func(t *testing.T) { t.Parallel(); testMetricsAddr(t, bin) })
	t.Run("CgroupLimits", func(t *testing.T) { t.Parallel(); testCgroupLimits(t, bin) })
	t.Run("ImportStdinAndProgress", func(t *testing.T) { t.Parallel(); testImportStdinAndProgress(t, bin) })
}

func build(t *testing.T, goTool, out string, flags ...string) {
	t.Helper()
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command(goTool, append(args, ".")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// env is the whole environment of a subprocess: nothing leaks in from the
// test's own (a GOMEMLIMIT or DATABASE_URL there would change the results).
func env(t *testing.T, vars map[string]string) []string {
	e := []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir()}
	for k, v := range vars {
		e = append(e, k+"="+v)
	}
	return e
}

// runCmd runs a short subcommand and returns its exit code and output.
func runCmd(t *testing.T, bin string, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env(t, vars)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("signpost %v did not finish in 20s", args)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func mustRun(t *testing.T, bin string, vars map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(t, bin, vars, args...)
	if code != 0 {
		t.Fatalf("signpost %v: exit %d\n%s", args, code, errOut)
	}
	return out
}

// server is one `signpost serve` subprocess.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	vars map[string]string
	URL  string // public, http://127.0.0.1:port

	mu     sync.Mutex
	lines  []map[string]any
	stderr bytes.Buffer

	exited   chan struct{}
	exitedAt time.Time
}

// startServer runs `signpost serve` with vars on top of test defaults
// (loopback ports, a fresh SQLite file, pprof off) and waits until it
// serves. wrapper, if given, is a command line that execs the binary
// (to start it inside a cgroup).
func startServer(t *testing.T, bin string, vars map[string]string, wrapper ...string) *server {
	t.Helper()
	s := spawnServer(t, bin, vars, wrapper...)
	s.URL = "http://" + s.waitLog("serving", 10*time.Second)["addr"].(string)
	return s
}

// spawnServer is startServer without waiting for it to serve.
func spawnServer(t *testing.T, bin string, vars map[string]string, wrapper ...string) *server {
	t.Helper()
	all := map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "DEBUG_ADDR": "off", "DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "signpost.db"),
		"SHUTDOWN_DELAY": "0s", "SHUTDOWN_TIMEOUT": "5s", "LOG_LEVEL": "debug",
	}
	for k, v := range vars {
		all[k] = v
	}
	args := append(append([]string{}, wrapper...), bin, "serve")
	s := &server{t: t, vars: all, exited: make(chan struct{})}
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Env = env(t, all)
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			json.Unmarshal(sc.Bytes(), &m)
			s.mu.Lock()
			s.stderr.Write(sc.Bytes())
			s.stderr.WriteByte('\n')
			if m != nil {
				s.lines = append(s.lines, m)
			}
			s.mu.Unlock()
		}
		s.cmd.Wait()
		s.mu.Lock()
		s.exitedAt = time.Now()
		s.mu.Unlock()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.log())
		}
	})
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// waitLog waits for the first log line whose msg is msg.
func (s *server) waitLog(msg string, within time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		exited := false
		select {
		case <-s.exited: // the reader has seen every line
			exited = true
		default:
		}
		if l := s.find(msg); l != nil {
			return l
		}
		switch {
		case exited:
			s.t.Fatalf("server exited (%v) before logging %q", s.cmd.ProcessState, msg)
		case time.Now().After(deadline):
			s.t.Fatalf("no %q log line within %s", msg, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) find(msg string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// killedBy is the signal that ended the process, or 0 if it exited.
func (s *server) killedBy() syscall.Signal {
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// wait waits for the process to exit and returns its exit code (-1 when
// a signal killed it) and when.
func (s *server) wait(within time.Duration) (int, time.Time) {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(within):
		s.t.Fatalf("server still running %s later", within)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.ProcessState.ExitCode(), s.exitedAt
}

var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	// A fresh connection per request: a kept-alive one would hide whether
	// the server still accepts new connections.
	Transport: apitest.CheckedTransport(web.OpenAPI(), &http.Transport{DisableKeepAlives: true}),
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func hostPort(t *testing.T, url string) string {
	t.Helper()
	return strings.TrimPrefix(url, "http://")
}

func testShutdown(t *testing.T, bin string) {
	// The checks made during SHUTDOWN_DELAY take about 100 ms (one of them
	// starts a process); 3 s leaves room for a loaded 2-core machine.
	const delay, timeout = 3 * time.Second, 3 * time.Second
	s := startServer(t, bin, map[string]string{
		"SHUTDOWN_DELAY": delay.String(), "SHUTDOWN_TIMEOUT": timeout.String(),
		"CLICK_FLUSH_INTERVAL": "1h", // only the final flush writes clicks
	})
	if code, body := do(t, "POST", s.URL+"/api/v1/links", `{"name":"docs","url":"https://example.com/docs"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	for range 5 {
		if code, _ := do(t, "GET", s.URL+"/docs", ""); code != 302 {
			t.Fatalf("redirect: %d", code)
		}
	}
	healthEnv := map[string]string{"HTTP_ADDR": hostPort(t, s.URL)}
	if code, _, errOut := runCmd(t, bin, healthEnv, "healthcheck"); code != 0 {
		t.Errorf("healthcheck against a serving server: exit %d %s", code, errOut)
	}

	// A keep-alive client: its connection stays open while serving, and
	// is told to leave (Connection: close) while draining.
	ka, err := net.Dial("tcp", hostPort(t, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer ka.Close()
	kaGet := func() *http.Response {
		t.Helper()
		ka.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(ka, "GET /docs HTTP/1.1\r\nHost: go\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(ka), nil)
		if err != nil {
			t.Fatalf("keep-alive request: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := kaGet(); resp.StatusCode != 302 || resp.Close {
		t.Errorf("keep-alive redirect while serving: %d, Connection: close = %v", resp.StatusCode, resp.Close)
	}

	// A request in flight when SIGTERM arrives: its body is half sent.
	conn, err := net.Dial("tcp", hostPort(t, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"docs","url":"https://example.com/docs/v2"}`
	fmt.Fprintf(conn, "PUT /api/v1/links/docs HTTP/1.1\r\nHost: go\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(100 * time.Millisecond) // let the handler start reading it

	sigAt := time.Now()
	s.signal(syscall.SIGTERM)

	// During SHUTDOWN_DELAY: not ready, still alive, still redirecting.
	var ready int
	var readyBody string
	for time.Since(sigAt) < delay/2 {
		if ready, readyBody = do(t, "GET", s.URL+"/readyz", ""); ready == 503 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ready != 503 || !strings.Contains(readyBody, "shutting down") {
		t.Errorf("/readyz after SIGTERM: %d %s", ready, readyBody)
	}
	if code, _ := do(t, "GET", s.URL+"/healthz", ""); code != 200 {
		t.Errorf("/healthz while draining: %d", code)
	}
	if code, _ := do(t, "GET", s.URL+"/docs", ""); code != 302 {
		t.Errorf("redirect while draining: %d", code)
	}
	if resp := kaGet(); resp.StatusCode != 302 || !resp.Close {
		t.Errorf("keep-alive redirect while draining: %d, Connection: close = %v, want true", resp.StatusCode, resp.Close)
	}
	if code, _, errOut := runCmd(t, bin, healthEnv, "healthcheck"); code != 0 {
		t.Errorf("healthcheck while draining: exit %d %s", code, errOut)
	}
	if took := time.Since(sigAt); took >= delay {
		t.Fatalf("the checks during SHUTDOWN_DELAY took %s, more than the %s delay: the server may have stopped accepting before they ran", took, delay)
	} else {
		t.Logf("the checks during SHUTDOWN_DELAY took %s of %s", took.Round(time.Millisecond), delay)
	}

	// After the delay the server stops accepting; the request in flight
	// still completes.
	time.Sleep(time.Until(sigAt.Add(delay + 300*time.Millisecond)))
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(rb), "docs/v2") {
		t.Errorf("in-flight request: %d %s", resp.StatusCode, rb)
	}

	code, exitAt := s.wait(delay + timeout + 5*time.Second)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if took := exitAt.Sub(sigAt); took >= delay+timeout {
		t.Errorf("exit %s after SIGTERM, want within SHUTDOWN_DELAY+SHUTDOWN_TIMEOUT = %s", took, delay+timeout)
	} else {
		t.Logf("exited %s after SIGTERM (delay %s)", took.Round(time.Millisecond), delay)
	}
	if !strings.Contains(s.log(), `"msg":"shutdown complete"`) {
		t.Error("no shutdown complete line")
	}
	if code, _, _ := runCmd(t, bin, healthEnv, "healthcheck"); code != 1 {
		t.Errorf("healthcheck with no server: exit %d, want 1", code)
	}

	// Every click counted before and during the drain is in the database.
	out := mustRun(t, bin, map[string]string{"DATABASE_URL": s.vars["DATABASE_URL"]}, "export")
	var rec struct {
		Name   string `json:"name"`
		URL    string `json:"url"`
		Clicks int64  `json:"clicks"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rec); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if rec.Clicks != 8 || rec.URL != "https://example.com/docs/v2" {
		t.Errorf("after exit the database has %+v, want 8 clicks (6 before SIGTERM, 2 while draining) and the in-flight update", rec)
	}
}

func testSecondSignal(t *testing.T, bin string) {
	s := startServer(t, bin, map[string]string{"SHUTDOWN_DELAY": "30s"})
	s.signal(syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if code, _ := do(t, "GET", s.URL+"/readyz", ""); code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never answered 503 after SIGTERM")
		}
	}
	at := time.Now()
	s.signal(syscall.SIGINT)
	// The first signal's log line says what a second one does.
	assertPromptExit(t, s, at, syscall.SIGINT, `"msg":"shutting down; a second signal ends the process at once","signal":"terminated"`)
}

func testSlowloris(t *testing.T, bin string) {
	const headerTimeout = 500 * time.Millisecond
	s := startServer(t, bin, map[string]string{"HTTP_READ_HEADER_TIMEOUT": headerTimeout.String()})
	// Timed from before the dial: the server's header deadline starts when
	// it accepts, which may be before Dial returns here.
	start := time.Now()
	conn, err := net.Dial("tcp", hostPort(t, s.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(conn) // returns when the server closes the connection
		closed <- b
	}()
	// One header byte every 50ms, for at most 10s: each byte would reset
	// a per-read deadline; only a deadline for the whole header stops it.
	req := "GET /healthz HTTP/1.1\r\nHost: go\r\nX-Slow: " + strings.Repeat("a", 200)
	var got []byte
	var cutAfter time.Duration
trickle:
	for i := 0; i < len(req) && time.Since(start) < 10*time.Second; i++ {
		select {
		case got = <-closed:
			cutAfter = time.Since(start)
			break trickle
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{req[i]}); err != nil {
			got, cutAfter = <-closed, time.Since(start)
			break
		}
	}
	if cutAfter == 0 {
		t.Fatalf("a client trickling headers was still connected after %s", time.Since(start))
	}
	if cutAfter < headerTimeout || cutAfter > headerTimeout+2*time.Second {
		t.Errorf("cut off after %s, want about HTTP_READ_HEADER_TIMEOUT=%s", cutAfter, headerTimeout)
	}
	if bytes.Contains(got, []byte("200 OK")) {
		t.Errorf("the trickled request was served: %q", got)
	}
	t.Logf("slowloris connection closed after %s", cutAfter.Round(time.Millisecond))
	// The server itself is fine.
	if code, _ := do(t, "GET", s.URL+"/healthz", ""); code != 200 {
		t.Errorf("/healthz after the slowloris: %d", code)
	}
}

func testHealthcheck(t *testing.T, bin string) {
	// Something on the port that is not a healthy signpost.
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			t.Errorf("healthcheck asked for %s", r.URL.Path)
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer sick.Close()
	_, port, _ := net.SplitHostPort(hostPort(t, sick.URL))
	if code, _, errOut := runCmd(t, bin, map[string]string{"HTTP_ADDR": ":" + port}, "healthcheck"); code != 1 || !strings.Contains(errOut, "500") {
		t.Errorf("healthcheck against a 500: exit %d %q, want 1", code, errOut)
	}
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer healthy.Close()
	_, port, _ = net.SplitHostPort(hostPort(t, healthy.URL))
	// A wildcard host means loopback.
	if code, _, errOut := runCmd(t, bin, map[string]string{"HTTP_ADDR": "0.0.0.0:" + port}, "healthcheck"); code != 0 {
		t.Errorf("healthcheck against a 200: exit %d %q, want 0", code, errOut)
	}
	if code, _, _ := runCmd(t, bin, map[string]string{"HTTP_ADDR": "nonsense"}, "healthcheck"); code != 2 {
		t.Errorf("healthcheck with a bad HTTP_ADDR: exit %d, want 2", code)
	}
}

// pushRecorder stands in for a Pyroscope server: it keeps the app names
// (with their tags) of the profiles pushed to it.
type pushRecorder struct {
	mu    sync.Mutex
	names []string
}

func (p *pushRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == "POST" && r.URL.Path == "/ingest" {
		p.mu.Lock()
		p.names = append(p.names, r.URL.Query().Get("name"))
		p.mu.Unlock()
	}
}

func testDebugMetricsProfiling(t *testing.T, bin string) {
	pyro := &pushRecorder{}
	pts := httptest.NewServer(pyro)
	defer pts.Close()
	s := startServer(t, bin, map[string]string{
		"DEBUG_ADDR": "127.0.0.1:0", "PYROSCOPE_SERVER": pts.URL, "ENV": "ci",
	})
	debugURL := "http://" + s.waitLog("debug server listening", 5*time.Second)["addr"].(string)
	s.waitLog("continuous profiling on", time.Second)

	// pprof on the debug port, every endpoint.
	for _, p := range []string{"", "cmdline", "symbol", "allocs?debug=1", "block?debug=1", "goroutine?debug=1", "heap?debug=1", "mutex?debug=1", "threadcreate?debug=1", "profile?seconds=1", "trace?seconds=0.1"} {
		if code, body := do(t, "GET", debugURL+"/debug/pprof/"+p, ""); code != 200 || body == "" {
			t.Errorf("debug port /debug/pprof/%s: %d %.100q", p, code, body)
		}
	}

	// Metrics on the public port, labelled by route pattern.
	do(t, "POST", s.URL+"/api/v1/links", `{"name":"docs","url":"https://example.com/docs"}`)
	do(t, "GET", s.URL+"/docs/some/path?token=s3cret", "")
	do(t, "GET", s.URL+"/nonesuch", "")
	code, metrics := do(t, "GET", s.URL+"/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`signpost_build_info{goversion="go1.`, `revision="` + stampRevision + `",version="` + stampVersion + `"} 1`,
		`signpost_http_requests_total{code="302",method="GET",route="/"} 1`,
		`signpost_http_requests_total{code="201",method="POST",route="/api/v1/links"} 1`,
		`signpost_http_request_duration_seconds_count{method="GET",route="/"} 2`,
		`signpost_redirects_total{result="found"} 1`, `signpost_redirects_total{result="not_found"} 1`,
		"signpost_links 1", "signpost_db_up 1", "signpost_clicks_pending ", `go_sql_max_open_connections{db_name="sqlite"} 25`,
		"go_sched_gomaxprocs_threads", "process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "signpost_change_listener_up") {
		t.Error("/metrics on SQLite has signpost_change_listener_up; there is no listener")
	}
	if strings.Contains(metrics, "some/path") || strings.Contains(metrics, "nonesuch") {
		t.Error("/metrics carries a request path as a label")
	}
	// pprof and expvar (both register on http.DefaultServeMux when
	// imported) are not on the public port: those paths are link names there.
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/debug/vars"} {
		if code, body := do(t, "GET", s.URL+p, ""); code != 404 || strings.Contains(body, "goroutine") || strings.Contains(body, "memstats") {
			t.Errorf("public port %s: %d %.100q", p, code, body)
		}
	}

	s.signal(syscall.SIGTERM)
	if code, _ := s.wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
	// The access log: one debug line per request, never the query string.
	log := s.log()
	if !strings.Contains(log, `"msg":"request","method":"GET","route":"/","path":"/docs/some/path","status":302`) {
		t.Errorf("no access-log line for the redirect:\n%s", log)
	}
	if strings.Contains(log, "s3cret") {
		t.Error("the log carries a redirect's query string")
	}
	// The final push on shutdown carries the env and version tags.
	pyro.mu.Lock()
	defer pyro.mu.Unlock()
	if len(pyro.names) == 0 {
		t.Fatal("nothing was pushed to PYROSCOPE_SERVER")
	}
	for _, n := range pyro.names {
		if !strings.HasPrefix(n, "signpost{") || !strings.Contains(n, "env=ci") || !strings.Contains(n, "version="+stampVersion) {
			t.Errorf("pushed profile name %q", n)
		}
	}
}

func testMetricsAddr(t *testing.T, bin string) {
	s := startServer(t, bin, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	metricsURL := "http://" + s.waitLog("metrics server listening", 5*time.Second)["addr"].(string)
	if code, body := do(t, "GET", metricsURL+"/metrics", ""); code != 200 || !strings.Contains(body, "signpost_build_info") {
		t.Errorf("METRICS_ADDR /metrics: %d", code)
	}
	if code, body := do(t, "GET", s.URL+"/metrics", ""); code != 404 || strings.Contains(body, "signpost_build_info") {
		t.Errorf("public /metrics with METRICS_ADDR set: %d", code)
	}
	if strings.Contains(s.log(), "debug server listening") {
		t.Error("DEBUG_ADDR=off started a debug server")
	}
}

// testCgroupLimits runs the binary inside a cgroup limited to 256 MiB and
// one CPU, and checks the start-up line: GOMEMLIMIT is 90% of the memory
// limit (automemlimit) and GOMAXPROCS follows the CPU limit (the Go
// runtime's own cgroup support), unless GOMEMLIMIT and GOMAXPROCS are set,
// which win.
func testCgroupLimits(t *testing.T, bin string) {
	var limit int64 = 256 << 20
	procs := limitedCgroup(t, limit)
	// The shell joins the cgroup(s), then execs signpost, which inherits them.
	wrapper := []string{"/bin/sh", "-c", `for f in $0; do echo $$ > "$f" || exit 1; done; exec "$@"`, strings.Join(procs, " ")}

	s := startServer(t, bin, nil, wrapper...)
	line := s.waitLog("starting signpost", time.Second)
	want := int64(float64(limit) * 0.9)
	if got := int64(line["GOMEMLIMIT_bytes"].(float64)); got != want || line["GOMEMLIMIT_source"] != "cgroup (90%)" {
		t.Errorf("in a %d-byte cgroup the start-up line says GOMEMLIMIT %v (%v, source %v), want %d",
			limit, got, line["GOMEMLIMIT"], line["GOMEMLIMIT_source"], want)
	} else {
		t.Logf("cgroup memory limit %d → GOMEMLIMIT %v (%d bytes)", limit, line["GOMEMLIMIT"], got)
	}
	// The runtime rounds a cgroup CPU limit up, to at least 2; only a
	// machine with more than 2 CPUs shows the limit taking effect.
	if wantProcs := min(runtime.NumCPU(), 2); line["GOMAXPROCS"] != float64(wantProcs) {
		t.Errorf("in a cgroup limited to 1 CPU (of %d) the start-up line says GOMAXPROCS %v, want %d", runtime.NumCPU(), line["GOMAXPROCS"], wantProcs)
	} else if runtime.NumCPU() <= 2 {
		t.Logf("GOMAXPROCS %v: with %d CPUs the cgroup CPU limit (rounded up to 2) cannot lower it here", line["GOMAXPROCS"], runtime.NumCPU())
	}
	s.signal(syscall.SIGTERM)
	s.wait(10 * time.Second)

	s = startServer(t, bin, map[string]string{"GOMEMLIMIT": "100MiB", "GOMAXPROCS": "1"}, wrapper...)
	line = s.waitLog("starting signpost", time.Second)
	if got := int64(line["GOMEMLIMIT_bytes"].(float64)); got != 100<<20 || line["GOMEMLIMIT_source"] != "GOMEMLIMIT" {
		t.Errorf("with GOMEMLIMIT=100MiB in the cgroup: %v bytes, source %v", got, line["GOMEMLIMIT_source"])
	}
	if line["GOMAXPROCS"] != float64(1) || line["GOMAXPROCS_source"] != "GOMAXPROCS" {
		t.Errorf("with GOMAXPROCS=1 in a 1-CPU cgroup: GOMAXPROCS %v, source %v", line["GOMAXPROCS"], line["GOMAXPROCS_source"])
	}
	s.signal(syscall.SIGTERM)
	s.wait(10 * time.Second)
}

// limitedCgroup creates child cgroups under the test's own, limited to
// memLimit bytes and one CPU (cgroup v1: one in the memory hierarchy, one in
// the cpu hierarchy; v2: one with both), removed at cleanup, and returns
// their cgroup.procs files. It skips the test when cgroups are not
// writable here.
func limitedCgroup(t *testing.T, memLimit int64) []string {
	t.Helper()
	name := fmt.Sprintf("signpost-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	mkdir := func(controller string) (string, bool) {
		base, v2, err := ownCgroup(controller)
		if err != nil {
			t.Skipf("cgroup limits test skipped: %v", err)
		}
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			t.Skipf("cgroup limits test skipped: cannot create a cgroup (needs root and a writable cgroup fs): %v", err)
		}
		t.Cleanup(func() {
			// The processes have exited; the kernel may take a moment to let go.
			for i := 0; i < 50; i++ {
				if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("could not remove cgroup %s", dir)
		})
		return dir, v2
	}
	write := func(dir, file, value string) {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
			t.Skipf("cgroup limits test skipped: cannot set %s: %v", file, err)
		}
	}
	mem, v2 := mkdir("memory")
	if v2 {
		write(mem, "memory.max", strconv.FormatInt(memLimit, 10))
		write(mem, "cpu.max", "100000 100000")
		return []string{filepath.Join(mem, "cgroup.procs")}
	}
	write(mem, "memory.limit_in_bytes", strconv.FormatInt(memLimit, 10))
	cpu, _ := mkdir("cpu")
	write(cpu, "cpu.cfs_period_us", "100000")
	write(cpu, "cpu.cfs_quota_us", "100000")
	return []string{filepath.Join(mem, "cgroup.procs"), filepath.Join(cpu, "cgroup.procs")}
}

// ownCgroup finds the directory of this process's cgroup for a controller
// (v1), or its unified cgroup (v2, when the controller has no v1 mount),
// from /proc/self/mountinfo and /proc/self/cgroup.
func ownCgroup(controller string) (dir string, v2 bool, err error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false, fmt.Errorf("no /proc/self/mountinfo (not Linux?): %w", err)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	type mount struct{ root, point string }
	var v1Mount, v2Mount *mount
	for _, line := range strings.Split(string(mi), "\n") {
		// id parent major:minor root mountpoint opts ... - fstype source superopts
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		switch {
		case g[0] == "cgroup" && strings.Contains(","+g[2]+",", ","+controller+",") && v1Mount == nil:
			v1Mount = &mount{f[3], f[4]}
		case g[0] == "cgroup2" && v2Mount == nil:
			v2Mount = &mount{f[3], f[4]}
		}
	}
	var v1Path, v2Path string
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path = parts[2]
		} else if strings.Contains(","+parts[1]+",", ","+controller+",") {
			v1Path = parts[2]
		}
	}
	join := func(m *mount, p string) string {
		rel, err := filepath.Rel(m.root, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = "."
		}
		return filepath.Join(m.point, rel)
	}
	switch {
	case v1Mount != nil && v1Path != "":
		return join(v1Mount, v1Path), false, nil
	case v2Mount != nil && v2Path != "":
		return join(v2Mount, v2Path), true, nil
	}
	return "", false, fmt.Errorf("no cgroup %s controller is mounted", controller)
}

// testImportStdinAndProgress imports from stdin ("-"), and from a file on a
// terminal, where a large import draws a progress bar (util-linux's
// `script` gives the binary a pseudo-terminal).
func testImportStdinAndProgress(t *testing.T, bin string) {
	dir := t.TempDir()
	var b strings.Builder
	const n = 25000 // about 2 MiB: over the bar's 1 MiB threshold
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"name":"link-%05d","url":"https://example.com/%d/some/longer/path/to/make/the/file/bigger"}`+"\n", i, i)
	}
	file := filepath.Join(dir, "big.ndjson")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "stdin.db")}
	cmd := exec.Command(bin, "import", "-")
	cmd.Env = env(t, vars)
	cmd.Stdin = strings.NewReader(`{"name":"a","url":"https://a.example"}` + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported 1 links from stdin") {
		t.Fatalf("import -: %v %q", err, out)
	}
	// Not a terminal: no bar, just the summary.
	code, _, errOut := runCmd(t, bin, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "pipe.db")}, "import", file)
	if code != 0 || strings.Contains(errOut, "reading [") || !strings.Contains(errOut, fmt.Sprintf("imported %d links", n)) {
		t.Fatalf("import to a pipe: %d %q", code, errOut)
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("util-linux script not installed: cannot give the import a terminal")
	}
	cmd = exec.Command(script, "-qec", bin+" import "+file, "/dev/null")
	cmd.Env = env(t, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "tty.db")})
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reading [") || !strings.Contains(string(out), fmt.Sprintf("imported %d links", n)) {
		t.Fatalf("import on a terminal: %v %q", err, out)
	}
}
