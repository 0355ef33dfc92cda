package ops

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"
)

// Over a real keep-alive connection: while serving, the connection stays
// open for the next request; while draining, the response says
// "Connection: close" and the server closes the connection after it, so
// the client's next request goes to a new connection.
func TestCloseWhileDraining(t *testing.T) {
	for _, tc := range []struct {
		name     string
		draining bool
	}{
		{"serving keeps the connection", false},
		{"draining closes it after the response", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var draining atomic.Bool
			draining.Store(tc.draining)
			srv := httptest.NewServer(CloseWhileDraining(draining.Load, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			})))
			defer srv.Close()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(conn)
			get := func() (*http.Response, error) {
				if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: go\r\n\r\n"); err != nil {
					return nil, err
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return nil, err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp, err
			}

			resp, err := get()
			if err != nil {
				t.Fatal(err)
			}
			// ReadResponse turns "Connection: close" into resp.Close.
			if resp.Close != tc.draining {
				t.Errorf("Connection: close = %v while draining = %v", resp.Close, tc.draining)
			}
			if !tc.draining {
				if resp, err := get(); err != nil || resp.StatusCode != 200 {
					t.Fatalf("second request on the same connection: %v %v", resp, err)
				}
				return
			}
			// The server closes its end: the next read sees EOF, not the
			// deadline.
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("after a draining response, read = %v, want EOF (the server closed the connection)", err)
			}
		})
	}
}

// The same header makes an HTTP/2 server send GOAWAY: a client moves to a
// new connection instead of opening more streams on the old one.
// (Signpost serves HTTP/1.1 in clear text today; this keeps the wrapper
// right if TLS and HTTP/2 are ever served directly.)
func TestCloseWhileDrainingHTTP2(t *testing.T) {
	var draining atomic.Bool
	srv := httptest.NewUnstartedServer(CloseWhileDraining(draining.Load, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	// get reports whether the request went over a reused connection.
	get := func() bool {
		t.Helper()
		var reused bool
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
		}
		return reused
	}
	get()
	for i := range 5 {
		if !get() {
			t.Fatalf("request %d while serving opened a new connection", i+2)
		}
	}
	draining.Store(true)
	// The GOAWAY is written by the connection's own goroutine, so the
	// first request or two after Drain may still use the old connection.
	for range 20 {
		if !get() {
			return
		}
	}
	t.Fatal("20 requests while draining all reused the old HTTP/2 connection: no GOAWAY")
}
