package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store"
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
	// Read-only: an export must work on a file this process may not write
	// (a backup copy, a read-only volume) and never changes the database.
	opt := storeOptions(c, newLogger(stderr, c))
	opt.ReadOnly = true
	st, err := store.Open(ctx, c.DatabaseURL, opt)
	if err != nil {
		return err
	}
	defer st.Close()
	w, dest := stdout, "stdout"
	var f *os.File
	if out != "" {
		// Write next to the destination and rename, so a failed export never
		// leaves a truncated file where a good one was.
		f, err = createTemp(out)
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
	if k := st.RowsSkipped(); k > 0 {
		fmt.Fprintf(stderr, "skipped %d stored links that cannot be read (logged above); repair or delete their rows\n", k)
	}
	return nil
}

// createTemp creates a new file next to path for writing, with the mode a
// plain create gives (0666 less the umask: 0644 usually), or path's own
// mode when it exists; os.CreateTemp would make it 0600.
func createTemp(path string) (*os.File, error) {
	mode := os.FileMode(0o666)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	for range 10 {
		var b [6]byte
		rand.Read(b[:])
		f, err := os.OpenFile(filepath.Join(filepath.Dir(path), ".signpost-export-"+hex.EncodeToString(b[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if mode != 0o666 {
			// An existing file's mode, which the umask may have narrowed.
			if err := f.Chmod(mode); err != nil {
				f.Close()
				os.Remove(f.Name())
				return nil, err
			}
		}
		return f, nil
	}
	return nil, fmt.Errorf("export: no free temporary name next to %s", path)
}

func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dryRun bool
	var statsFile string
	c, rest, err := config.Parse("import", "import [--dry-run] [--golink-stats STATS] FILE|- (or --golink-stats STATS alone) [flags]", args, getenv, dbSettings, stdout, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "show what the import would change (new, updated, unchanged) and write nothing")
		fs.StringVar(&statsFile, "golink-stats", "", "tailscale/golink's click statistics (what its /.export-stats serves): each link's clicks are summed into its click total; alone, they are set on the links already stored")
	})
	if err != nil {
		return err
	}
	if len(rest) > 1 || len(rest) == 0 && statsFile == "" {
		return &config.UsageError{Msg: "import: give one FILE, or - for stdin"}
	}
	var totals map[string]links.ClickTotal
	if statsFile != "" {
		if totals, err = readGolinkStats(statsFile, stderr); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		return importClicks(ctx, c, totals, statsFile, dryRun, stderr)
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
	now := time.Now().UTC()
	bar := newProgress(stderr, size)
	// The links of the file that the stats name take their totals.
	counted := map[string]bool{}
	withClicks := func(l links.Link) links.Link {
		l, ok := links.WithClicks(l, totals)
		if ok {
			counted[l.Key] = true
		}
		return l
	}
	if dryRun {
		st, err := openStore(ctx, c, nil)
		if err != nil {
			return err
		}
		defer st.Close()
		var ls []links.Link
		for l, err := range links.ScanNDJSONWith(r, now, bar.update, links.LookupAliases(ctx, st)) {
			if err != nil {
				bar.done()
				return importErr(err, src, stderr)
			}
			ls = append(ls, withClicks(l))
		}
		bar.done()
		reportStats(stderr, statsFile, len(counted), len(totals)-len(counted), "would get", "of "+src)
		return printPlan(ctx, st, ls, src, stdout)
	}
	st, err := openStore(ctx, c, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	// The operator's import: clicks and times in the file are kept, and it
	// is in every changed link's history. It streams the file into the one
	// transaction: memory stays flat however many links it holds.
	ctx = links.WithEdit(ctx, links.Edit{Actor: "signpost import", Action: links.ActionImport, At: now})
	n := 0
	err = st.Import(ctx, func(yield func(links.Link, error) bool) {
		for l, err := range links.ScanNDJSONWith(r, now, bar.update, links.LookupAliases(ctx, st)) {
			if err == nil {
				n++
				l = withClicks(l)
			}
			if !yield(l, err) {
				return
			}
		}
	}, links.ImportOptions{Stats: true})
	bar.done()
	if err != nil {
		return importErr(err, src, stderr)
	}
	fmt.Fprintf(stderr, "imported %d links from %s\n", n, src)
	if len(totals) > 0 {
		if err := links.ImportClickDays(ctx, st, totals); err != nil {
			return fmt.Errorf("the links and their totals are imported, but not golink's days (run the stats import again: %w)", err)
		}
	}
	reportStats(stderr, statsFile, len(counted), len(totals)-len(counted), "got", "of "+src)
	return nil
}

// readGolinkStats reads golink's click statistics from path, reporting
// every bad line as an import does.
func readGolinkStats(path string, stderr io.Writer) (map[string]links.ClickTotal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	totals, err := links.ReadGolinkStats(f)
	if err != nil {
		return nil, importErr(err, path, stderr)
	}
	return totals, nil
}

// importClicks sets golink's totals on the stored links (--golink-stats
// without FILE).
func importClicks(ctx context.Context, c config.Config, totals map[string]links.ClickTotal, src string, dryRun bool, stderr io.Writer) error {
	st, err := openStore(ctx, c, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if dryRun {
		known := 0
		err := st.Each(ctx, func(l links.Link) error {
			if _, ok := totals[l.Key]; ok {
				known++
			}
			return nil
		})
		if err != nil {
			return err
		}
		reportStats(stderr, src, known, len(totals)-known, "would get", "stored")
		fmt.Fprintln(stderr, "dry run: nothing was written")
		return nil
	}
	ctx = links.WithEdit(ctx, links.Edit{Actor: "signpost import", Action: links.ActionImport, At: time.Now().UTC()})
	applied, unknown, err := links.ImportClicks(ctx, st, totals)
	if err != nil {
		return err
	}
	reportStats(stderr, src, applied, unknown, "got", "stored")
	return nil
}

// reportStats says what golink's statistics did (or would do).
func reportStats(w io.Writer, src string, applied, unknown int, verb, among string) {
	if src == "" {
		return
	}
	fmt.Fprintf(w, "%d links %s their click totals from %s", applied, verb, src)
	if unknown > 0 {
		fmt.Fprintf(w, "; %d link IDs in it name no link %s and were left out", unknown, among)
	}
	fmt.Fprintln(w)
}

// importErr reports an import that failed: every bad line on its own
// line, as compilers do, then the verdict.
func importErr(err error, src string, stderr io.Writer) error {
	var bad *links.LineErrors
	if !errors.As(err, &bad) {
		return err
	}
	for _, l := range bad.Lines {
		fmt.Fprintf(stderr, "%s:%d: %s\n", src, l.Line, l.Reason)
	}
	if n := bad.Total - len(bad.Lines); n > 0 {
		fmt.Fprintf(stderr, "%s: %d more bad lines\n", src, n)
	}
	return links.Errorf(links.Invalid, "%d bad line(s) in %s; nothing was imported", bad.Total, src)
}

// printPlan writes what importing ls would change: one line per new or
// updated link, then the counts.
func printPlan(ctx context.Context, st links.Store, ls []links.Link, src string, stdout io.Writer) error {
	p, err := links.PlanImport(ctx, st, ls)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	for _, l := range p.New {
		target := l.URL
		if l.IsAlias() {
			target = "alias of go/" + l.AliasOf
		}
		fmt.Fprintf(w, "new      %s → %s\n", l.Name, target)
	}
	for _, u := range p.Updated {
		fmt.Fprintf(w, "updated  %s: %s\n", u.Link.Name, strings.Join(u.Fields, ", "))
	}
	fmt.Fprintf(w, "dry run: %d links in %s: %d new, %d updated, %d unchanged", len(ls), src, len(p.New), len(p.Updated), p.Unchanged)
	if p.Refreshed > 0 {
		fmt.Fprintf(w, " (%d of them with other clicks or times, which an import writes)", p.Refreshed)
	}
	fmt.Fprintln(w, "; nothing was written")
	return w.Flush()
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
	url, err := healthcheckURL(c.HTTPAddr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
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

// healthcheckURL is the /healthz URL of a server listening on addr (the
// HTTP_ADDR syntax): the host it names, or loopback when it names every
// interface (":8080", "0.0.0.0:8080", "[::]:8080"), in the same IP family.
func healthcheckURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", &config.UsageError{Msg: fmt.Sprintf("invalid HTTP_ADDR %q", addr)}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
