package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// GET /api/v1/export outlives HTTP_WRITE_TIMEOUT: it extends its own write
// deadline (http.ResponseController) as it streams. The client here has a
// small receive buffer and reads nothing for twice the write timeout, so
// the server is still writing (blocked on a full socket) when the timeout
// set at the start of the request has passed; without the extension the
// stream is cut there.
func TestExportOutlivesWriteTimeout(t *testing.T) {
	const (
		writeTimeout = 200 * time.Millisecond
		n            = 4000 // about 8.8 MB: more than the kernel's socket buffers hold (tcp_wmem max 4 MiB by default)
	)
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(dir, "export.db")}
	var in strings.Builder
	desc := strings.Repeat("d", 2000)
	for i := range n {
		fmt.Fprintf(&in, `{"name":"link-%d","url":"https://example.com/%d","description":%q}`+"\n", i, i, desc)
	}
	file := filepath.Join(dir, "in.ndjson")
	if err := os.WriteFile(file, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, env, "import", file); code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	env["HTTP_WRITE_TIMEOUT"] = writeTimeout.String()
	s := startRun(t, env)

	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
		return err
	}}
	conn, err := d.DialContext(context.Background(), "tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	fmt.Fprint(conn, "GET /api/v1/export HTTP/1.1\r\nHost: go\r\nConnection: close\r\n\r\n")
	time.Sleep(2 * writeTimeout) // a slow reader: the server's writes block meanwhile
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("export response: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	lines, size := 0, 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Name string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Name == "" {
			t.Fatalf("export cut off or corrupt at line %d, after %d bytes and %v: %v %.80q",
				lines+1, size, time.Since(start).Round(time.Millisecond), err, sc.Bytes())
		}
		lines++
		size += len(sc.Bytes()) + 1
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		t.Errorf("export cut off after %d links, %d bytes, %v: %v", lines, size, time.Since(start).Round(time.Millisecond), err)
	}
	if lines != n {
		t.Fatalf("export has %d links, want %d", lines, n)
	}
	t.Logf("exported %d links (%.1f MB) in %v with HTTP_WRITE_TIMEOUT=%v", lines, float64(size)/1e6, time.Since(start).Round(time.Millisecond), writeTimeout)
}
