package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/signpost-go/signpost/internal/buildinfo"
	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/links"
	"github.com/signpost-go/signpost/internal/store"
)

const usage = `Signpost: go/links for your team.

Usage: signpost <command> [flags]

Commands:
  serve        run the service (redirects, web UI, JSON API, probes, metrics)
  export       write every link as NDJSON to stdout or --out FILE
  import       read NDJSON links from FILE or - (stdin), all or nothing (--dry-run: only say what would change)
  migrate      apply database migrations and print the schema version
  healthcheck  exit 0 when the local server's /healthz answers 200 (for Docker HEALTHCHECK)
  backup       copy the SQLite database to FILE, safely while the server runs
  version      print version, revision, build date and Go version (also --version)

Run 'signpost <command> --help' for its flags. Every flag also reads an
environment variable, named in the help.
`

// run is the whole program; main only maps its error to an exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return &config.UsageError{Msg: "missing command", Usage: usage}
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "export":
		return export(ctx, rest, getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return backup(ctx, rest, getenv, stdout, stderr)
	case "version":
		return version(rest, getenv, stdout)
	case "--version", "-version":
		if len(rest) > 0 {
			return &config.UsageError{Msg: fmt.Sprintf("%s takes no arguments", cmd), Usage: usage}
		}
		return version(nil, getenv, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return &config.UsageError{Msg: fmt.Sprintf("unknown command %q", cmd), Usage: usage}
	}
}

// exitCode maps run's error to an exit code, printing it as one line:
// 0 success or --help, 2 bad usage or setting, 1 anything else.
func exitCode(err error, stderr io.Writer) int {
	var ue *config.UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprint(stderr, ue.Usage)
		fmt.Fprintf(stderr, "signpost: %s\n", ue.Msg)
		return 2
	default:
		msg := err.Error()
		if c := links.ErrorCode(err); c != links.Internal {
			msg = links.ErrorMessage(err)
		}
		fmt.Fprintf(stderr, "signpost: %s\n", strings.TrimSpace(msg))
		return 1
	}
}

func newLogger(w io.Writer, c config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openStore opens the store c names; log (nil: discard) gets the
// backend's own events, such as the PostgreSQL listener's reconnects.
func openStore(ctx context.Context, c config.Config, log *slog.Logger) (store.Store, error) {
	return store.Open(ctx, c.DatabaseURL, storeOptions(c, log))
}

func storeOptions(c config.Config, log *slog.Logger) store.Options {
	return store.Options{
		MaxOpenConns:    c.DBMaxOpenConns,
		MaxIdleConns:    c.DBMaxIdleConns,
		ConnMaxLifetime: c.DBConnMaxLifetime,
		Log:             log,
	}
}

func version(args []string, getenv func(string) string, stdout io.Writer) error {
	if _, _, err := config.Parse("version", "version", args, getenv, []string{}, stdout, nil); err != nil {
		return err
	}
	bi := buildinfo.Get()
	fmt.Fprintf(stdout, "signpost %s\nrevision: %s\nbuilt: %s\ngo: %s\n", bi.Version, bi.Revision, bi.Date, bi.GoVersion)
	return nil
}
