package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/web"
)

// A write while another process holds SQLite's write lock: every client
// is answered within a bound (its write deadline, far below the HTTP write
// timeout and SQLite's 10 s busy_timeout), with 503 and Retry-After when
// the lock outlasts the deadline, and the database ends up holding
// exactly the writes that were acknowledged.
func TestLockedDatabaseAnswersPromptly(t *testing.T) {
	const deadline = 500 * time.Millisecond
	const bound = deadline + 2*time.Second
	ts := newTestServer(t, false, func(o *web.Options) { o.Links.WriteTimeout = deadline })
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+ts.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	lock := func() {
		t.Helper()
		if _, err := holder.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
	}
	unlock := func() {
		if _, err := holder.ExecContext(ctx, `ROLLBACK`); err != nil {
			t.Error(err)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	type answer struct {
		name   string
		status int
		retry  string
		took   time.Duration
	}
	creates := func(round string, n int) []answer {
		out := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				name := fmt.Sprintf("%s%d", round, i)
				start := time.Now()
				resp, err := client.Post(ts.URL+"/api/v1/links", "application/json",
					strings.NewReader(fmt.Sprintf(`{"name":%q,"url":"https://%s.example"}`, name, name)))
				if err != nil {
					t.Errorf("%s: no answer: %v", name, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				out[i] = answer{name, resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)}
			})
		}
		wg.Wait()
		return out
	}

	// The lock outlasts every deadline: each answers 503 at about its
	// deadline.
	lock()
	held := creates("held", 5)
	unlock()
	// The lock goes away while the writes wait: they go through.
	lock()
	go func() { time.Sleep(deadline / 3); unlock() }()
	freed := creates("freed", 5)

	acked := 0
	for _, a := range append(held, freed...) {
		if a.took > bound {
			t.Errorf("%s answered after %v, want within %v", a.name, a.took, bound)
		}
		_, err := ts.store.Get(ctx, a.name)
		stored := err == nil
		switch a.status {
		case http.StatusCreated:
			acked++
			if !stored {
				t.Errorf("%s was acknowledged (201) but is not stored", a.name)
			}
		case http.StatusServiceUnavailable:
			if a.retry == "" {
				t.Errorf("%s: 503 without Retry-After", a.name)
			}
			if stored {
				t.Errorf("%s answered 503 but was stored", a.name)
			}
		default:
			t.Errorf("%s answered %d", a.name, a.status)
		}
	}
	for _, a := range held {
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("%s answered %d while the lock was held throughout, want 503", a.name, a.status)
		}
	}
	if acked == 0 {
		t.Error("no write went through once the lock was released")
	}
}

// A create repeated with the same body (a client retrying after its
// answer was lost, or after a 503 whose commit raced the deadline) is
// answered as the first one was; a different link under the name is 409.
func TestCreateRetryIsSafe(t *testing.T) {
	ts := newTestServer(t, false)
	body := `{"name":"docs","url":"https://d.example","description":"the docs"}`
	first := ts.do(t, "POST", "/api/v1/links", body)
	again := ts.do(t, "POST", "/api/v1/links", body)
	if first.status != 201 || again.status != 201 || again.body != first.body {
		t.Fatalf("create then retry: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
	for _, other := range []string{
		`{"name":"docs","url":"https://other.example","description":"the docs"}`,
		`{"name":"Docs","url":"https://d.example","description":"the docs"}`,
		`{"name":"docs","url":"https://d.example"}`,
	} {
		wantError(t, ts.do(t, "POST", "/api/v1/links", other), 409, links.Conflict, "already exists")
	}
}

// An import body over 64 MiB is 413, whatever its last, cut-off line
// looks like (it used to be parsed and answered 400).
func TestImportOverLimitIs413(t *testing.T) {
	ts := newTestServer(t, false)
	// Unknown fields are ignored, so a padded line is a valid link.
	pad := strings.Repeat("x", 200<<10)
	var parts []io.Reader
	for i := 0; i*len(pad) < 65<<20; i++ {
		parts = append(parts, strings.NewReader(fmt.Sprintf(`{"name":"l%d","url":"https://l.example","pad":"%s"}`+"\n", i, pad)))
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/import", io.MultiReader(parts...))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wantError(t, response{resp.StatusCode, resp.Header, string(b)}, 413, links.TooLarge, "larger than 64 MiB")
	if ts.index.Len() != 0 {
		t.Fatal("a refused import stored links")
	}
}

// Two imports cannot run at once: the second is refused at once (503,
// Retry-After) instead of holding another 64 MiB body in memory.
func TestImportsOneAtATime(t *testing.T) {
	ts := newTestServer(t, false)
	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/import", pr)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	fmt.Fprintln(pw, `{"name":"slow","url":"https://slow.example"}`)
	var refused response
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		refused = ts.do(t, "POST", "/api/v1/import", `{"name":"fast","url":"https://fast.example"}`, "Content-Type", "application/x-ndjson")
		if refused.status == http.StatusServiceUnavailable {
			break
		}
	}
	wantError(t, refused, 503, links.Unavailable, "another import is running")
	if refused.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	pw.Close()
	if got := <-first; got != 200 {
		t.Fatalf("the first import answered %d", got)
	}
	if r := ts.do(t, "POST", "/api/v1/import", `{"name":"after","url":"https://a.example"}`, "Content-Type", "application/x-ndjson"); r.status != 200 {
		t.Fatalf("an import after the first: %d %s", r.status, r.body)
	}
}

// An import's body may take longer to arrive than HTTP_READ_TIMEOUT allows
// an ordinary request (64 MiB over a slow link), and its answer comes after
// HTTP_WRITE_TIMEOUT would have cut it off: the import handler extends
// both deadlines for itself.
func TestSlowImportBodyOutlastsServerTimeouts(t *testing.T) {
	ts := newTestServer(t, false)
	srv := httptest.NewUnstartedServer(ts.Config.Handler)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	pr, pw := io.Pipe()
	go func() {
		for i := range 6 { // 900 ms in all: three times each timeout
			fmt.Fprintf(pw, `{"name":"slow%d","url":"https://slow.example/%d"}`+"\n", i, i)
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/import", pr)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("slow import: %v (the server's timeouts cut it off)", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"imported":6`) {
		t.Fatalf("slow import: %d %s, want 200 with 6 imported", resp.StatusCode, b)
	}
}
