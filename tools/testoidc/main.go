// Command testoidc is a real OpenID provider for Signpost's tests, built on
// zitadel/oidc's pkg/op (an OpenID Certified implementation): discovery,
// authorization code with PKCE, token, UserInfo and JWKS endpoints, with a
// login page and static users whose groups are in the "groups" claim.
//
// It is a test tool, never a provider for real users: passwords are the
// users' names, keys live in memory, and every loopback redirect URI is
// accepted.
//
//	testoidc [--addr 127.0.0.1:0]
//
// Once it listens it prints one line, "SIGNPOST_TEST_OIDC_ISSUER=<issuer>",
// and serves until SIGTERM or SIGINT.
//
// Clients: "signpost" (secret "signpost-secret") gets the e-mail and groups
// in the ID token; "signpost-userinfo" (same secret) only from UserInfo, as
// some providers do.
//
// A module of its own (tools/testoidc/go.mod) so that the provider's
// dependency tree (chi, otel, schema, ...) stays out of the service's.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "testoidc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testoidc", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (loopback only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		ln.Close()
		return errors.New("--addr must be a loopback address: this provider is for tests only")
	}
	issuer := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := newHandler(issuer, log)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "SIGNPOST_TEST_OIDC_ISSUER=%s\n", issuer)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// newHandler is the provider and its login page on one mux.
func newHandler(issuer string, log *slog.Logger) (http.Handler, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	st := newStorage(key)
	var crypto [32]byte
	rand.Read(crypto[:])
	provider, err := op.NewProvider(&op.Config{CryptoKey: crypto, CodeMethodS256: true, AuthMethodPost: true},
		st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	lp := &loginPage{st: st, callback: op.AuthCallbackURL(provider)}
	mux.Handle("/login", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(lp.ServeHTTP))
	// Browsers ask for one; a 404 would be a console error in the browser test.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", provider)
	return mux, nil
}
