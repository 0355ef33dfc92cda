package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ndjson prints links prefix-0 ... as an import file: -n of them, or as
// many as make -bytes.
func ndjson(args []string) error {
	fs := flag.NewFlagSet("ndjson", flag.ContinueOnError)
	prefix := fs.String("prefix", "load", "link names PREFIX-i")
	n := fs.Int("n", 100, "how many links")
	size := fs.Int("bytes", 0, "instead of -n: at least this many bytes of links")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	written := 0
	for i := 0; (*size == 0 && i < *n) || (*size > 0 && written < *size); i++ {
		line, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("%s-%d", *prefix, i), "url": target(*prefix, i)})
		line = append(line, '\n')
		w.Write(line)
		written += len(line)
	}
	return w.Flush()
}

// clicks reads an export (NDJSON on stdin) and prints how many links
// named prefix-<number> it holds and the sum of their clicks.
func clicks(args []string) error {
	fs := flag.NewFlagSet("clicks", flag.ContinueOnError)
	prefix := fs.String("prefix", "load", "count links named PREFIX-...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var n, sum int64
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	for {
		var l struct {
			Name   string `json:"name"`
			Clicks int64  `json:"clicks"`
		}
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		if num, ok := strings.CutPrefix(l.Name, *prefix+"-"); ok && num != "" && strings.Trim(num, "0123456789") == "" {
			n++
			sum += l.Clicks
		}
	}
	fmt.Printf("links=%d clicks=%d\n", n, sum)
	return nil
}

// noFollow answers redirects instead of following them.
var noFollow = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// redirectsTo reports whether base/name answers 302 to want.
func redirectsTo(base, name, want string) error {
	resp, err := noFollow.Get(base + "/" + name)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		return fmt.Errorf("%s/%s: %d to %q, want 302 to %q", base, name, resp.StatusCode, resp.Header.Get("Location"), want)
	}
	return nil
}

// verify checks that every acknowledged write (acked.txt lines: name
// target) redirects to its target on every replica.
func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var acked multiFlag
	fs.Var(&acked, "acked", "acked.txt from a run (repeatable)")
	urls := fs.String("urls", "", "comma-separated replica base URLs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	type write struct{ name, target string }
	var ws []write
	for _, f := range acked {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(b)) {
			if name, tgt, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
				ws = append(ws, write{name, tgt})
			}
		}
	}
	bases := strings.Split(*urls, ",")
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, base := range bases {
		for _, w := range ws {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := redirectsTo(base, w.name, w.target); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	fmt.Printf("verify: %d acknowledged writes checked on %d replicas: %d missing or wrong\n", len(ws), len(bases), len(errs))
	if len(errs) > 0 {
		return errors.Join(errs[:min(len(errs), 10)]...)
	}
	if len(ws) == 0 {
		return errors.New("no acknowledged writes to check")
	}
	return nil
}

// propagate creates a link on one replica and reports how long another
// took to serve it.
func propagate(args []string) error {
	fs := flag.NewFlagSet("propagate", flag.ContinueOnError)
	from := fs.String("from", "", "replica to write on")
	to := fs.String("to", "", "replica to read from")
	name := fs.String("name", "", "link to create")
	wait := fs.Duration("wait", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	want := target("propagate", 0)
	body, _ := json.Marshal(map[string]string{"name": *name, "url": want})
	resp, err := noFollow.Post(*from+"/api/v1/links", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create on %s: %d %s", *from, resp.StatusCode, rb)
	}
	start := time.Now()
	for time.Since(start) < *wait {
		if redirectsTo(*to, *name, want) == nil {
			fmt.Printf("propagate_ms=%d\n", time.Since(start).Milliseconds())
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("%s not served by %s within %s", *name, *to, *wait)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// haproxy sends one command that answers nothing on success (set
// server ...) to HAProxy's admin socket; scripts have no socat.
func haproxy(args []string) error {
	fs := flag.NewFlagSet("haproxy", flag.ContinueOnError)
	sock := fs.String("socket", "", "HAProxy's stats socket (level admin)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := net.DialTimeout("unix", *sock, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, strings.Join(fs.Args(), " ")+"\n"); err != nil {
		return err
	}
	answer, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	// Commands like "set server" answer nothing when they worked.
	if a := strings.TrimSpace(string(answer)); a != "" {
		return fmt.Errorf("haproxy answered %q", a)
	}
	return nil
}
