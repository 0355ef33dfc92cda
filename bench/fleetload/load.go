package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type loadConfig struct {
	addr        string // host:port
	rate        float64
	conns       int
	prefix      string // redirects go to prefix-0 .. prefix-(links-1)
	links       int
	writeEvery  int    // every n-th request creates a link (0: none)
	writePrefix string // named writePrefix-<n>
	min, max    int64  // requests: a stop signal waits for min; max ends the run
	duration    time.Duration
	timeout     time.Duration
	out         string
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	base := fs.String("url", "", "base URL (http://host:port)")
	c := loadConfig{}
	fs.Float64Var(&c.rate, "rate", 1500, "requests per second, over all connections")
	fs.IntVar(&c.conns, "conns", 16, "keep-alive connections (one worker each)")
	fs.StringVar(&c.prefix, "links", "load", "redirects go to links named PREFIX-0 ...")
	fs.IntVar(&c.links, "nlinks", 100, "how many links PREFIX-i there are")
	fs.IntVar(&c.writeEvery, "write-every", 100, "every n-th request is a POST creating a link (0: none)")
	fs.StringVar(&c.writePrefix, "write-prefix", "w", "created links are named PREFIX-<n>")
	fs.Int64Var(&c.min, "min", 0, "on SIGTERM or SIGINT, keep going until this many requests were sent")
	fs.Int64Var(&c.max, "max", 1_000_000, "stop after this many requests")
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "stop after this long, whatever else")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "one request's bound, from dial to the end of the body")
	fs.StringVar(&c.out, "out", "", "directory for summary.env, failures.log, writes.log, acked.txt")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", *base)
	}
	c.addr = u.Host
	if c.out == "" || c.rate <= 0 || c.conns < 1 || c.links < 1 || c.max < 1 || c.duration <= 0 {
		return errors.New("-out, and positive -rate, -conns, -nlinks, -max and -duration, are required")
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	start := time.Now()
	tokens := make(chan struct{}, c.conns)
	var seq atomic.Int64
	workers := make([]*worker, c.conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{cfg: &c, seq: &seq, st: newStats()}
		workers[i] = w
		wg.Go(func() {
			for range tokens {
				w.one()
			}
			w.close()
		})
	}
	behind := pace(&c, start, tokens, stop)
	close(tokens)
	wg.Wait()
	elapsed := time.Since(start)

	total := newStats()
	for _, w := range workers {
		total.merge(w.st)
	}
	return total.write(&c, elapsed, behind)
}

// pace hands out one token per request at c.rate until max requests, the
// duration, or a stop signal once min requests were handed out. A worker
// that is busy does not make tokens pile up: more than one per connection
// behind schedule is dropped and counted, so a slow machine lowers the
// rate instead of bursting afterwards.
func pace(c *loadConfig, start time.Time, tokens chan<- struct{}, stop <-chan os.Signal) (behind int64) {
	var pos, handed int64 // place in the schedule; tokens handed out
	stopping := false
	for {
		select {
		case <-stop:
			stopping = true
		default:
		}
		elapsed := time.Since(start)
		if (stopping && handed >= c.min) || handed >= c.max || elapsed >= c.duration {
			return behind
		}
		due := int64(elapsed.Seconds() * c.rate)
		if lag := due - pos - int64(cap(tokens)); lag > 0 {
			behind += lag
			pos += lag
		}
		limit := c.max
		if stopping {
			limit = min(c.max, c.min)
		}
	fill:
		for pos < due && handed < limit {
			select {
			case tokens <- struct{}{}:
				pos++
				handed++
			default:
				break fill
			}
		}
		time.Sleep(time.Millisecond)
	}
}

type worker struct {
	cfg    *loadConfig
	seq    *atomic.Int64
	st     *stats
	conn   net.Conn
	br     *bufio.Reader
	served int // responses on conn
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.br, w.served = nil, nil, 0
	}
}

// outcome is one request's result.
type outcome struct {
	write  bool
	name   string // the link created (writes)
	status int    // 0: no response
	kind   string // for status 0: refused, dial, eof, reset, timeout, other
	code   string // a JSON error's code
	reused bool   // on a connection that had served a response before
	ok     bool
	start  time.Time
	took   time.Duration
}

func (w *worker) one() {
	n := w.seq.Add(1)
	o := outcome{start: time.Now()}
	var req []byte
	var want string // the redirect's expected Location
	if w.cfg.writeEvery > 0 && n%int64(w.cfg.writeEvery) == 0 {
		o.write = true
		o.name = fmt.Sprintf("%s-%d", w.cfg.writePrefix, n)
		body, _ := json.Marshal(map[string]string{"name": o.name, "url": target(w.cfg.writePrefix, int(n))})
		req = fmt.Appendf(nil, "POST /api/v1/links HTTP/1.1\r\nHost: signpost\r\nUser-Agent: fleetload\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	} else {
		i := int(n % int64(w.cfg.links))
		want = target(w.cfg.prefix, i)
		req = fmt.Appendf(nil, "GET /%s-%d HTTP/1.1\r\nHost: signpost\r\nUser-Agent: fleetload\r\n\r\n", w.cfg.prefix, i)
	}
	w.exchange(&o, req, want)
	o.took = time.Since(o.start)
	w.st.add(o)
}

func (w *worker) exchange(o *outcome, req []byte, wantLocation string) {
	deadline := o.start.Add(w.cfg.timeout)
	// What a keep-alive client does: an idle connection the server has
	// closed meanwhile is dropped, not used.
	if w.conn != nil && peerClosed(w.conn) {
		w.close()
	}
	if w.conn == nil {
		c, err := net.DialTimeout("tcp", w.cfg.addr, time.Until(deadline))
		if err != nil {
			o.kind = "dial"
			if errors.Is(err, syscall.ECONNREFUSED) {
				o.kind = "refused"
			}
			w.st.note(o.kind, err)
			return
		}
		w.conn, w.br = c, bufio.NewReader(c)
	}
	o.reused = w.served > 0
	w.conn.SetDeadline(deadline)
	fail := func(err error) {
		o.kind = classify(err)
		w.st.note(o.kind, err)
		w.close()
	}
	if _, err := w.conn.Write(req); err != nil {
		fail(err)
		return
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		fail(err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		fail(err)
		return
	}
	w.served++
	if resp.Close {
		w.close()
	}
	o.status = resp.StatusCode
	if o.write {
		o.ok = o.status == http.StatusCreated
		if !o.ok {
			var e struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if json.Unmarshal(body, &e) == nil {
				o.code = e.Error.Code
			}
		}
		return
	}
	o.ok = o.status == http.StatusFound && resp.Header.Get("Location") == wantLocation
	if o.status == http.StatusFound && !o.ok {
		o.kind = "wrong-location"
		w.st.note(o.kind, fmt.Errorf("Location %q, want %q", resp.Header.Get("Location"), wantLocation))
	}
}

func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

type stats struct {
	requests, reads, writes, ok int64
	redirects, created          int64 // 302 to the right target, 201
	status                      map[int]int64
	errs                        map[string]int64 // kind -> count
	errsReused                  int64
	firstMsg                    map[string]string // kind -> first error text
	failures                    []outcome         // every request that did not get its expected answer
	writeLog                    []outcome
	lat                         []time.Duration // requests that got an answer
	lastOK                      time.Time
}

func newStats() *stats {
	return &stats{status: map[int]int64{}, errs: map[string]int64{}, firstMsg: map[string]string{}}
}

func (s *stats) note(kind string, err error) {
	if _, ok := s.firstMsg[kind]; !ok {
		s.firstMsg[kind] = err.Error()
	}
}

func (s *stats) add(o outcome) {
	s.requests++
	if o.write {
		s.writes++
		s.writeLog = append(s.writeLog, o)
	} else {
		s.reads++
	}
	if o.status != 0 {
		s.status[o.status]++
		s.lat = append(s.lat, o.took)
	}
	if o.kind != "" {
		s.errs[o.kind]++
		if o.reused && o.status == 0 {
			s.errsReused++
		}
	}
	if o.ok {
		s.ok++
		if o.write {
			s.created++
		} else {
			s.redirects++
		}
		if end := o.start.Add(o.took); end.After(s.lastOK) {
			s.lastOK = end
		}
		return
	}
	s.failures = append(s.failures, o)
}

func (s *stats) merge(o *stats) {
	s.requests += o.requests
	s.reads += o.reads
	s.writes += o.writes
	s.ok += o.ok
	s.redirects += o.redirects
	s.created += o.created
	for k, v := range o.status {
		s.status[k] += v
	}
	for k, v := range o.errs {
		s.errs[k] += v
	}
	for k, v := range o.firstMsg {
		if _, ok := s.firstMsg[k]; !ok {
			s.firstMsg[k] = v
		}
	}
	s.errsReused += o.errsReused
	s.failures = append(s.failures, o.failures...)
	s.writeLog = append(s.writeLog, o.writeLog...)
	s.lat = append(s.lat, o.lat...)
	if o.lastOK.After(s.lastOK) {
		s.lastOK = o.lastOK
	}
}

// write leaves the results in c.out:
//
//	summary.env   KEY=VALUE lines a shell can source
//	failures.log  one line per request without its expected answer:
//	              start(unix ms) method what reused took(ms)
//	writes.log    one line per write: start(unix ms) took(ms) status code
//	acked.txt     one line per acknowledged write: name target
func (s *stats) write(c *loadConfig, elapsed time.Duration, behind int64) error {
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	slices.SortFunc(s.failures, func(a, b outcome) int { return a.start.Compare(b.start) })
	slices.SortFunc(s.writeLog, func(a, b outcome) int { return a.start.Compare(b.start) })
	slices.Sort(s.lat)
	pct := func(p float64) float64 {
		if len(s.lat) == 0 {
			return 0
		}
		return float64(s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))].Microseconds()) / 1000
	}
	var fl, wl, al strings.Builder
	var failedWrites, write503JSON int64
	var slowestFailedWrite, slowestWrite time.Duration
	for _, o := range s.failures {
		what := o.kind
		if o.status != 0 && what == "" {
			what = fmt.Sprintf("status=%d", o.status)
		}
		method := "GET"
		if o.write {
			method = "POST"
		}
		fmt.Fprintf(&fl, "%d %s %s %v %.1f\n", ms(o.start), method, what, o.reused, float64(o.took.Microseconds())/1000)
	}
	for _, o := range s.writeLog {
		code := o.code
		if o.status == 0 {
			code = o.kind
		}
		if code == "" {
			code = "-"
		}
		fmt.Fprintf(&wl, "%d %.1f %d %s\n", ms(o.start), float64(o.took.Microseconds())/1000, o.status, code)
		slowestWrite = max(slowestWrite, o.took)
		if o.ok {
			fmt.Fprintf(&al, "%s %s\n", o.name, target(c.writePrefix, numberOf(o.name)))
			continue
		}
		failedWrites++
		slowestFailedWrite = max(slowestFailedWrite, o.took)
		if o.status == http.StatusServiceUnavailable && o.code == "unavailable" {
			write503JSON++
		}
	}
	var first, last time.Time
	if len(s.failures) > 0 {
		first, last = s.failures[0].start, s.failures[len(s.failures)-1].start
	}
	var other int64
	for code, n := range s.status {
		if code != 302 && code != 201 && code != 503 {
			other += n
		}
	}
	sum := []struct {
		k string
		v any
	}{
		{"requests", s.requests}, {"reads", s.reads}, {"writes", s.writes},
		{"ok", s.ok}, {"failed", s.requests - s.ok},
		{"redirects", s.redirects}, {"created", s.created},
		{"status_302", s.status[302]}, {"status_201", s.status[201]}, {"status_503", s.status[503]}, {"status_other", other},
		{"err_refused", s.errs["refused"]}, {"err_dial", s.errs["dial"]}, {"err_eof", s.errs["eof"]},
		{"err_reset", s.errs["reset"]}, {"err_timeout", s.errs["timeout"]}, {"err_other", s.errs["other"]},
		{"err_wrong_location", s.errs["wrong-location"]},
		{"err_reused", s.errsReused},
		{"failed_reads", s.reads - s.redirects}, {"failed_writes", failedWrites},
		{"write_503_json", write503JSON}, {"slowest_failed_write_ms", slowestFailedWrite.Milliseconds()}, {"write_max_ms", slowestWrite.Milliseconds()},
		{"first_failure_ms", ms(first)}, {"last_failure_ms", ms(last)}, {"last_ok_ms", ms(s.lastOK)},
		{"p50_ms", pct(0.50)}, {"p99_ms", pct(0.99)}, {"max_ms", pct(1)},
		{"seconds", fmt.Sprintf("%.1f", elapsed.Seconds())},
		{"rate", fmt.Sprintf("%.0f", float64(s.requests)/elapsed.Seconds())},
		{"behind", behind},
	}
	var env strings.Builder
	for _, kv := range sum {
		fmt.Fprintf(&env, "%s=%v\n", kv.k, kv.v)
	}
	for _, f := range []struct{ name, text string }{
		{"summary.env", env.String()}, {"failures.log", fl.String()}, {"writes.log", wl.String()}, {"acked.txt", al.String()},
	} {
		if err := os.WriteFile(filepath.Join(c.out, f.name), []byte(f.text), 0o644); err != nil {
			return err
		}
	}
	for kind, msg := range s.firstMsg {
		fmt.Fprintf(os.Stderr, "fleetload: first %s error: %s\n", kind, msg)
	}
	return nil
}

func numberOf(name string) int {
	var n int
	fmt.Sscanf(name[strings.LastIndexByte(name, '-')+1:], "%d", &n)
	return n
}
