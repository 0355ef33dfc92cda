// Package config turns flags and environment variables into one validated
// Config. Every setting is a flag with an environment fallback; a flag given
// on the command line wins over the environment, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of every subcommand.
type Config struct {
	HTTPAddr        string
	PublicURL       string
	DatabaseURL     string
	LogLevel        slog.Level
	LogFormat       string
	AuthMode        string
	AuthProxyHeader string
	TrustedProxies  []netip.Prefix
	Identity
	ClickFlushInterval time.Duration
	ResyncInterval     time.Duration
	HistoryRetention   time.Duration // 0: keep every change
	ClickHistoryDays   int           // daily click counts kept; 0: all

	MetricsAddr     string
	DebugAddr       string
	PyroscopeServer string
	Env             string

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int

	DBMaxOpenConns    int
	DBMaxIdleConns    int
	DBConnMaxLifetime time.Duration

	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration
}

// MaxClickHistoryDays bounds CLICK_HISTORY_DAYS (about 100 years).
const MaxClickHistoryDays = 36500

// Setting is one configurable value.
type Setting struct {
	Env     string
	Default string
	Usage   string
	Secret  Secrecy // how it is masked when printed
	set     func(c *Config, v string) error
	get     func(c *Config) string
}

// Secrecy says how a setting's value is masked wherever it is printed (the
// start-up log line, an error about a bad value).
type Secrecy int

const (
	// Public values are printed as they are.
	Public Secrecy = iota
	// SecretURL is a URL that may carry a password (in its user info or a
	// query parameter): printed with the password masked. A value that is
	// not such a URL is printed as xxxxx.
	SecretURL
	// SecretValue (a key, a client secret) is printed as xxxxx when set,
	// whatever it looks like.
	SecretValue
)

// Flag is the setting's command-line flag name: HTTP_ADDR → http-addr.
func (s Setting) Flag() string { return strings.ReplaceAll(strings.ToLower(s.Env), "_", "-") }

// Settings lists every setting in the order --help shows them.
func Settings() []Setting {
	all := []Setting{
		{Env: "HTTP_ADDR", Default: ":8080", Usage: "address the public HTTP server listens on (redirects, UI, API, probes, metrics)",
			set: func(c *Config, v string) error {
				if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
					return errors.New("must be host:port or :port")
				}
				c.HTTPAddr = v
				return nil
			},
			get: func(c *Config) string { return c.HTTPAddr }},
		{Env: "PUBLIC_URL", Default: "", Usage: "the service's own URL as browsers reach it, e.g. http://go or https://go.example.com, named by the OpenSearch description and the help page (empty: taken from each request's Host header)",
			set: func(c *Config, v string) error {
				if v != "" {
					u, err := url.Parse(v)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						return errors.New("must be an http:// or https:// URL such as https://go.example.com")
					}
					if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
						return errors.New("must be only a scheme and host[:port], with no user, path, query or fragment (links live at the root)")
					}
					v = u.Scheme + "://" + u.Host
				}
				c.PublicURL = v
				return nil
			},
			get: func(c *Config) string { return c.PublicURL }},
		{Env: "DATABASE_URL", Default: "sqlite:signpost.db", Secret: SecretURL,
			Usage: "sqlite:PATH for one SQLite file, or postgres://user:pass@host/db for PostgreSQL (needed for several replicas)",
			set: func(c *Config, v string) error {
				if !strings.HasPrefix(v, "sqlite:") && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
					return errors.New("must start with sqlite: or postgres://")
				}
				if v == "sqlite:" {
					return errors.New("sqlite: needs a file path, as in sqlite:signpost.db")
				}
				c.DatabaseURL = v
				return nil
			},
			get: func(c *Config) string { return c.DatabaseURL }},
		{Env: "LOG_LEVEL", Default: "info", Usage: "debug, info, warn or error",
			set: func(c *Config, v string) error {
				switch v {
				case "debug", "info", "warn", "error":
					return c.LogLevel.UnmarshalText([]byte(v))
				}
				return errors.New("must be debug, info, warn or error")
			},
			get: func(c *Config) string { return strings.ToLower(c.LogLevel.String()) }},
		oneOf("LOG_FORMAT", "json", "json or text", []string{"json", "text"}, func(c *Config) *string { return &c.LogFormat }),
		oneOf("AUTH_MODE", "none", "none (everyone anonymous, may edit anything), proxy (identity from AUTH_PROXY_HEADER) or oidc (built-in sign-in with OpenID Connect: OIDC_*)", []string{"none", "proxy", "oidc"}, func(c *Config) *string { return &c.AuthMode }),
		{Env: "AUTH_PROXY_HEADER", Default: "X-Forwarded-Email", Usage: "request header carrying the user's identity, set by an authenticating proxy",
			set: func(c *Config, v string) error {
				if v == "" || strings.ContainsAny(v, " :\t") {
					return errors.New("must be a header name")
				}
				c.AuthProxyHeader = v
				return nil
			},
			get: func(c *Config) string { return c.AuthProxyHeader }},
		{Env: "TRUSTED_PROXIES", Default: "127.0.0.1/32,::1/128", Usage: "comma-separated CIDRs whose requests may set AUTH_PROXY_HEADER",
			set: func(c *Config, v string) error {
				c.TrustedProxies = nil
				for _, f := range strings.Split(v, ",") {
					if f = strings.TrimSpace(f); f == "" {
						continue
					}
					p, err := netip.ParsePrefix(f)
					if err != nil {
						return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", f)
					}
					c.TrustedProxies = append(c.TrustedProxies, p.Masked())
				}
				return nil
			},
			get: func(c *Config) string {
				s := make([]string, len(c.TrustedProxies))
				for i, p := range c.TrustedProxies {
					s[i] = p.String()
				}
				return strings.Join(s, ",")
			}},
		dur("CLICK_FLUSH_INTERVAL", "10s", "how often counted clicks are written to the database (a crash loses at most this much)", func(c *Config) *time.Duration { return &c.ClickFlushInterval }),
		dur("RESYNC_INTERVAL", "30s", "how often the in-memory index checks the database for changes it was not told about", func(c *Config) *time.Duration { return &c.ResyncInterval }),
		{Env: "HISTORY_RETENTION", Default: "0", Usage: "how long each link change stays in the history and audit log, as 400d or 8760h (0: for ever); older ones are removed hourly",
			set: func(c *Config, v string) error {
				d, err := parseRetention(v)
				if err != nil {
					return err
				}
				c.HistoryRetention = d
				return nil
			},
			get: func(c *Config) string {
				if c.HistoryRetention == 0 {
					return "0"
				}
				if c.HistoryRetention%(24*time.Hour) == 0 {
					return strconv.FormatInt(int64(c.HistoryRetention/(24*time.Hour)), 10) + "d"
				}
				return c.HistoryRetention.String()
			}},
		{Env: "CLICK_HISTORY_DAYS", Default: "400", Usage: fmt.Sprintf("how many UTC days of daily click counts are kept, for the link page's chart, /stats and the 30-day sort (0: all; at most %d); older days are removed hourly, totals stay", MaxClickHistoryDays),
			set: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > MaxClickHistoryDays {
					return fmt.Errorf("must be a whole number of days from 0 (keep all) to %d", MaxClickHistoryDays)
				}
				c.ClickHistoryDays = n
				return nil
			},
			get: func(c *Config) string { return strconv.Itoa(c.ClickHistoryDays) }},
		addr("METRICS_ADDR", "", "serve /metrics on this address instead of HTTP_ADDR (empty or off: on HTTP_ADDR)", func(c *Config) *string { return &c.MetricsAddr }),
		addr("DEBUG_ADDR", "127.0.0.1:6060", "address of the private pprof server (off: none); never expose it publicly", func(c *Config) *string { return &c.DebugAddr }),
		{Env: "PYROSCOPE_SERVER", Default: "", Secret: SecretURL, Usage: "Pyroscope server URL for continuous profiling (empty: off)",
			set: func(c *Config, v string) error {
				if v != "" {
					u, err := url.Parse(v)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						return errors.New("must be an http:// or https:// URL")
					}
				}
				c.PyroscopeServer = v
				return nil
			},
			get: func(c *Config) string { return c.PyroscopeServer }},
		str("ENV", "", "deployment environment, sent as the env tag of continuous profiles", func(c *Config) *string { return &c.Env }),
		dur("HTTP_READ_HEADER_TIMEOUT", "5s", "time to read request headers (cuts off slowloris clients)", func(c *Config) *time.Duration { return &c.ReadHeaderTimeout }),
		dur("HTTP_READ_TIMEOUT", "15s", "time to read a whole request", func(c *Config) *time.Duration { return &c.ReadTimeout }),
		dur("HTTP_WRITE_TIMEOUT", "30s", "time to write a response (export extends its own)", func(c *Config) *time.Duration { return &c.WriteTimeout }),
		dur("HTTP_IDLE_TIMEOUT", "120s", "how long an idle keep-alive connection stays open", func(c *Config) *time.Duration { return &c.IdleTimeout }),
		num("HTTP_MAX_HEADER_BYTES", "65536", "largest request header block accepted", 1024, func(c *Config) *int { return &c.MaxHeaderBytes }),
		num("DB_MAX_OPEN_CONNS", "25", "maximum open database connections (SQLite: readers; writes use one)", 1, func(c *Config) *int { return &c.DBMaxOpenConns }),
		num("DB_MAX_IDLE_CONNS", "25", "maximum idle database connections", 0, func(c *Config) *int { return &c.DBMaxIdleConns }),
		dur("DB_CONN_MAX_LIFETIME", "5m", "close database connections after this long (follows failovers)", func(c *Config) *time.Duration { return &c.DBConnMaxLifetime }),
		durZero("SHUTDOWN_DELAY", "5s", "after SIGTERM, keep serving this long with /readyz at 503 and Connection: close, so load balancers stop sending and keep-alive clients leave (2s after a Kubernetes preStop sleep)", func(c *Config) *time.Duration { return &c.ShutdownDelay }),
		dur("SHUTDOWN_TIMEOUT", "25s", "then wait at most this long for requests in flight", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	}
	// The identity settings follow TRUSTED_PROXIES.
	i := slices.IndexFunc(all, func(s Setting) bool { return s.Env == "TRUSTED_PROXIES" }) + 1
	return slices.Insert(all, i, authSettings()...)
}

// Runtime lists the Go runtime's own variables, shown in --help; the runtime
// reads them, not this package.
var Runtime = [][2]string{
	{"GOMAXPROCS", "CPUs used; default: the container's CPU limit (Go ≥ 1.25 reads the cgroup)"},
	{"GOMEMLIMIT", "soft memory limit; default: 90% of the cgroup memory limit (automemlimit), none outside a container"},
	{"AUTOMEMLIMIT", "share of the cgroup memory limit used for GOMEMLIMIT when that is unset; default 0.9, off disables"},
	{"GOGC", "GC target percentage; default 100"},
}

func str(env, def, usage string, p func(*Config) *string) Setting {
	return Setting{Env: env, Default: def, Usage: usage,
		set: func(c *Config, v string) error { *p(c) = v; return nil },
		get: func(c *Config) string { return *p(c) }}
}

func addr(env, def, usage string, p func(*Config) *string) Setting {
	s := str(env, def, usage, p)
	s.set = func(c *Config, v string) error {
		if v == "off" {
			v = ""
		}
		if v != "" {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				return errors.New("must be host:port or :port")
			}
		}
		*p(c) = v
		return nil
	}
	return s
}

func oneOf(env, def, usage string, allowed []string, p func(*Config) *string) Setting {
	s := str(env, def, usage, p)
	s.set = func(c *Config, v string) error {
		for _, a := range allowed {
			if v == a {
				*p(c) = v
				return nil
			}
		}
		return fmt.Errorf("must be %s", strings.Join(allowed, " or "))
	}
	return s
}

func dur(env, def, usage string, p func(*Config) *time.Duration) Setting {
	return durMin(env, def, usage, false, p)
}

func durZero(env, def, usage string, p func(*Config) *time.Duration) Setting {
	return durMin(env, def, usage, true, p)
}

func durMin(env, def, usage string, zeroOK bool, p func(*Config) *time.Duration) Setting {
	return Setting{Env: env, Default: def, Usage: usage,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return errors.New("must be a duration such as 500ms, 10s or 5m")
			}
			if d < 0 || (d == 0 && !zeroOK) {
				return errors.New("must be positive")
			}
			*p(c) = d
			return nil
		},
		get: func(c *Config) string { return p(c).String() }}
}

func num(env, def, usage string, minimum int, p func(*Config) *int) Setting {
	return Setting{Env: env, Default: def, Usage: usage,
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return errors.New("must be a whole number")
			}
			if n < minimum {
				return fmt.Errorf("must be at least %d", minimum)
			}
			*p(c) = n
			return nil
		},
		get: func(c *Config) string { return strconv.Itoa(*p(c)) }}
}

// parseRetention reads a retention: 0, a number of days (400d) or a Go
// duration of at least an hour (a shorter one is surely a mistake).
func parseRetention(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 100*365 {
			return 0, errors.New("must be 0, a number of days such as 400d, or a duration such as 8760h")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, errors.New("must be 0, a number of days such as 400d, or a duration such as 8760h")
		}
	}
	if d < time.Hour {
		return 0, errors.New("must be at least 1h (or 0 to keep everything)")
	}
	return d, nil
}

// UsageError is a bad command line or setting: exit code 2. Usage, when
// set, is the command's help, printed before the one-line message.
type UsageError struct{ Msg, Usage string }

func (e *UsageError) Error() string { return e.Msg }

// Parse parses args (after the subcommand name) for the settings named in
// use (all when use is nil), with getenv as the fallback. It returns the
// Config, the remaining positional arguments, and flag.ErrHelp for --help
// (after printing usage to stdout). extra registers the subcommand's own
// flags on the FlagSet.
func Parse(cmd, synopsis string, args []string, getenv func(string) string, use []string, stdout io.Writer, extra func(*flag.FlagSet)) (Config, []string, error) {
	var c Config
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	selected := selectSettings(use)
	for _, s := range selected {
		if err := s.set(&c, s.Default); err != nil {
			panic("config: bad default for " + s.Env + ": " + err.Error())
		}
	}
	// badFlag is a flag value that set refused, as it may be printed:
	// the flag package's own message would repeat the value unmasked.
	var badFlag string
	for _, s := range selected {
		if v, ok := lookup(getenv, s.Env); ok {
			if err := s.set(&c, v); err != nil {
				return c, nil, &UsageError{Msg: fmt.Sprintf("invalid %s=%q: %v", s.Env, mask(s, v), err)}
			}
		}
		fs.Func(s.Flag(), s.Usage, func(v string) error {
			if err := s.set(&c, v); err != nil {
				badFlag = fmt.Sprintf("invalid --%s=%q (%s): %v", s.Flag(), mask(s, v), s.Env, err)
				return err
			}
			return nil
		})
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, cmd, synopsis, fs, selected)
			return c, nil, flag.ErrHelp
		}
		var help strings.Builder
		printUsage(&help, cmd, synopsis, fs, selected)
		msg := err.Error()
		if badFlag != "" {
			msg = badFlag
		}
		return c, nil, &UsageError{Msg: fmt.Sprintf("%s: %s (see signpost %s --help)", cmd, msg, cmd), Usage: help.String()}
	}
	if use == nil {
		if err := c.checkIdentity(); err != nil {
			return c, nil, &UsageError{Msg: err.Error()}
		}
	}
	return c, fs.Args(), nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func selectSettings(use []string) []Setting {
	all := Settings()
	if use == nil {
		return all
	}
	var out []Setting
	for _, s := range all {
		for _, u := range use {
			if s.Env == u {
				out = append(out, s)
			}
		}
	}
	return out
}

func printUsage(w io.Writer, cmd, synopsis string, fs *flag.FlagSet, selected []Setting) {
	fmt.Fprintf(w, "Usage: signpost %s\n\n", synopsis)
	known := map[string]bool{}
	if len(selected) > 0 {
		fmt.Fprintf(w, "Settings (flag, environment variable, default):\n")
		for _, s := range selected {
			known[s.Flag()] = true
			def := s.Default
			if def == "" {
				def = `""`
			}
			fmt.Fprintf(w, "  --%s\n        %s (default %s)\n        %s\n", s.Flag(), s.Env, def, s.Usage)
		}
	}
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !known[f.Name] {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nOptions:\n")
		for _, f := range own {
			fmt.Fprintf(w, "  --%s\n        %s\n", f.Name, f.Usage)
		}
	}
	if cmd == "serve" {
		fmt.Fprintf(w, "\nRuntime (read by the Go runtime, not flags):\n")
		for _, r := range Runtime {
			fmt.Fprintf(w, "  %s\n        %s\n", r[0], r[1])
		}
	}
}

// Values returns every selected setting as printed at start-up, with
// secrets masked: passwords in URLs are replaced by "xxxxx".
func (c Config) Values() []any {
	var out []any
	for _, s := range Settings() {
		out = append(out, slog.String(s.Env, mask(s, s.get(&c))))
	}
	return out
}

func mask(s Setting, v string) string {
	switch {
	case s.Secret == Public || v == "":
		return v
	case s.Secret == SecretValue:
		return "xxxxx"
	}
	if strings.HasPrefix(v, "sqlite:") {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		// Not a URL whose password Redacted can find ("host=db
		// password=x", "user:pw@host"): print none of it.
		return "xxxxx"
	}
	// A password may also be a query parameter (pgx takes password= and
	// sslpassword=); mask any parameter that looks like a secret.
	if q := u.Query(); len(q) > 0 {
		masked := false
		for k := range q {
			if l := strings.ToLower(k); strings.Contains(l, "password") || strings.Contains(l, "secret") || strings.Contains(l, "token") {
				q[k] = []string{"xxxxx"}
				masked = true
			}
		}
		if masked {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}
