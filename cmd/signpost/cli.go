package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/links"
)

var dbSettings = []string{"DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT"}

func export(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var out string
	c, rest, err := config.Parse("export", "export [--out FILE] [flags]", args, getenv, dbSettings, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "write to FILE instead of stdout")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &config.UsageError{Msg: fmt.Sprintf("export: unexpected argument %q (use --out FILE)", rest[0])}
	}
	st, err := openStore(ctx, c, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	w, dest := stdout, "stdout"
	var f *os.File
	if out != "" {
		// Write next to the destination and rename, so a failed export never
		// leaves a truncated file where a good one was.
		f, err = os.CreateTemp(dirOf(out), ".signpost-export-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		w, dest = f, out
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	if err := st.Each(ctx, func(l links.Link) error { n++; return enc.Encode(links.ToRecord(l)) }); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), out); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d links to %s\n", n, dest)
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}

func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, rest, err := config.Parse("import", "import FILE|- [flags]", args, getenv, dbSettings, stdout, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return &config.UsageError{Msg: "import: give one FILE, or - for stdin"}
	}
	var r io.Reader = os.Stdin
	var size int64
	src := rest[0]
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		r = f
	} else {
		src = "stdin"
	}
	st, err := openStore(ctx, c, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	// Streams the file into the one transaction: memory stays flat
	// however many links it holds.
	bar := newProgress(stderr, size)
	n := 0
	err = st.Import(ctx, func(yield func(links.Link, error) bool) {
		for l, err := range links.ScanNDJSON(r, time.Now().UTC(), bar.update) {
			if err == nil {
				n++
			}
			if !yield(l, err) {
				return
			}
		}
	})
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "imported %d links from %s\n", n, src)
	return nil
}

// progress draws a bar on a terminal for imports over 1 MiB; elsewhere
// (pipes, CI logs) it stays silent.
type progress struct {
	w     io.Writer
	total int64
	on    bool
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, total: total, on: ok && total > 1<<20 && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(n int64) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	pct := float64(n) / float64(p.total)
	const width = 30
	filled := int(pct * width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < filled {
			bar[i] = '='
		}
	}
	fmt.Fprintf(p.w, "\rreading [%s] %3.0f%% %.1f/%.1f MiB", bar, pct*100, float64(n)/(1<<20), float64(p.total)/(1<<20))
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, rest, err := config.Parse("migrate", "migrate [flags]", args, getenv, dbSettings, stdout, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &config.UsageError{Msg: fmt.Sprintf("migrate: unexpected argument %q", rest[0])}
	}
	st, err := openStore(ctx, c, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema version %d\n", v)
	return nil
}

// healthcheck asks the local server's /healthz, for Docker's HEALTHCHECK in
// an image that has no curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, _, err := config.Parse("healthcheck", "healthcheck [flags]", args, getenv, []string{"HTTP_ADDR"}, stdout, nil)
	if err != nil {
		return err
	}
	_, port, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return &config.UsageError{Msg: fmt.Sprintf("invalid HTTP_ADDR %q", c.HTTPAddr)}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
