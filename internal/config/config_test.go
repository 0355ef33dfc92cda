package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, rest, err := Parse("serve", "serve", nil, env(nil), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Fatalf("rest = %v", rest)
	}
	if c.HTTPAddr != ":8080" || c.DatabaseURL != "sqlite:signpost.db" || c.LogFormat != "json" || c.AuthMode != "none" ||
		c.AuthProxyHeader != "X-Forwarded-Email" || len(c.TrustedProxies) != 2 || c.ClickFlushInterval != 10*time.Second ||
		c.DebugAddr != "127.0.0.1:6060" || c.ReadHeaderTimeout != 5*time.Second || c.ReadTimeout != 15*time.Second ||
		c.WriteTimeout != 30*time.Second || c.IdleTimeout != 120*time.Second || c.MaxHeaderBytes != 64<<10 ||
		c.DBMaxOpenConns != 25 || c.DBMaxIdleConns != 25 || c.DBConnMaxLifetime != 5*time.Minute ||
		c.ShutdownDelay != 5*time.Second || c.ShutdownTimeout != 25*time.Second || c.ResyncInterval != 30*time.Second ||
		c.HistoryRetention != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvAndFlagPrecedence(t *testing.T) {
	e := env(map[string]string{"HTTP_ADDR": ":9000", "LOG_LEVEL": "debug", "SHUTDOWN_DELAY": "0", "DEBUG_ADDR": "off", "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7/32"})
	c, _, err := Parse("serve", "serve", []string{"--http-addr", "127.0.0.1:9001"}, e, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9001" {
		t.Errorf("flag did not win over env: %q", c.HTTPAddr)
	}
	if c.LogLevel.String() != "DEBUG" || c.ShutdownDelay != 0 || c.DebugAddr != "" {
		t.Errorf("env not applied: %+v", c)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Errorf("TRUSTED_PROXIES = %v", c.TrustedProxies)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	tests := []struct{ env, val string }{
		{"HTTP_ADDR", "8080"},
		{"DATABASE_URL", "mysql://x"},
		{"DATABASE_URL", "sqlite:"},
		{"LOG_LEVEL", "verbose"},
		{"LOG_FORMAT", "xml"},
		{"AUTH_MODE", "oauth"},
		{"AUTH_PROXY_HEADER", "X Email"},
		{"TRUSTED_PROXIES", "10.0.0.0/33"},
		{"CLICK_FLUSH_INTERVAL", "10"},
		{"CLICK_FLUSH_INTERVAL", "0s"},
		{"SHUTDOWN_DELAY", "-1s"},
		{"DB_MAX_OPEN_CONNS", "0"},
		{"HTTP_MAX_HEADER_BYTES", "lots"},
		{"PYROSCOPE_SERVER", "pyroscope:4040"},
		{"PUBLIC_URL", "go.example.com"},
		{"PUBLIC_URL", "ftp://go.example.com"},
		{"PUBLIC_URL", "https://u:p@go.example.com"},
		{"PUBLIC_URL", "https://go.example.com/links"},
		{"PUBLIC_URL", "https://go.example.com/?x=1"},
		{"PUBLIC_URL", "https://go.example.com/#top"},
		{"HISTORY_RETENTION", "forever"},
		{"HISTORY_RETENTION", "10m"},
		{"HISTORY_RETENTION", "0d"},
		{"HISTORY_RETENTION", "-5d"},
		{"CLICK_HISTORY_DAYS", "-1"},
		{"CLICK_HISTORY_DAYS", "400d"},
		{"CLICK_HISTORY_DAYS", "36501"},
	}
	for _, tt := range tests {
		_, _, err := Parse("serve", "serve", nil, env(map[string]string{tt.env: tt.val}), nil, nil, nil)
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(ue.Msg, tt.env) || strings.Contains(ue.Msg, "\n") {
			t.Errorf("%s=%q: err = %v, want a one-line UsageError naming %s", tt.env, tt.val, err, tt.env)
		}
	}
}

func TestHistoryRetention(t *testing.T) {
	for v, want := range map[string]time.Duration{"0": 0, "400d": 400 * 24 * time.Hour, "8760h": 8760 * time.Hour, "90m": 90 * time.Minute} {
		c, _, err := Parse("serve", "serve", nil, env(map[string]string{"HISTORY_RETENTION": v}), nil, nil, nil)
		if err != nil || c.HistoryRetention != want {
			t.Errorf("HISTORY_RETENTION=%s: %v, %v; want %v", v, c.HistoryRetention, err, want)
		}
	}
}

func TestClickHistoryDays(t *testing.T) {
	for v, want := range map[string]int{"": 400, "0": 0, "1": 1, "36500": 36500} {
		e := map[string]string{}
		if v != "" {
			e["CLICK_HISTORY_DAYS"] = v
		}
		c, _, err := Parse("serve", "serve", nil, env(e), nil, nil, nil)
		if err != nil || c.ClickHistoryDays != want {
			t.Errorf("CLICK_HISTORY_DAYS=%q: %v, %v; want %v", v, c.ClickHistoryDays, err, want)
		}
	}
}

func TestBadFlag(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"--log-level", "loud"}} {
		_, _, err := Parse("serve", "serve", args, env(nil), nil, nil, nil)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want UsageError", args, err)
		}
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	_, _, err := Parse("serve", "serve [flags]", []string{"--help"}, env(nil), nil, &out, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, s := range Settings() {
		if !strings.Contains(out.String(), "--"+s.Flag()) || !strings.Contains(out.String(), s.Env) {
			t.Errorf("--help lacks %s", s.Env)
		}
	}
	for _, r := range Runtime {
		if !strings.Contains(out.String(), r[0]) {
			t.Errorf("--help lacks runtime variable %s", r[0])
		}
	}
}

func TestValuesMaskSecrets(t *testing.T) {
	for _, tt := range []struct {
		db, pyro string
		want     []string
	}{
		{"postgres://signpost:hunter2@db:5432/signpost", "https://u:tok@pyro.example",
			[]string{"signpost:xxxxx@db:5432", "u:xxxxx@pyro.example"}},
		// pgx also takes the password as a query parameter.
		{"postgres://signpost@db/signpost?sslmode=require&password=hunter2", "",
			[]string{"postgres://signpost@db/signpost?", "password=xxxxx", "sslmode=require"}},
		{"postgresql://signpost@db/signpost?sslpassword=hunter2&PASSWORD=hunter2", "",
			[]string{"sslpassword=xxxxx", "PASSWORD=xxxxx"}},
	} {
		c, _, err := Parse("serve", "serve", nil, env(map[string]string{"DATABASE_URL": tt.db, "PYROSCOPE_SERVER": tt.pyro}), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range c.Values() {
			b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(v), "\n", " ")))
		}
		if strings.Contains(b.String(), "hunter2") || strings.Contains(b.String(), "tok@") {
			t.Errorf("secret printed: %s", b.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("masked values lack %q: %s", w, b.String())
			}
		}
	}
}

func TestPublicURL(t *testing.T) {
	for v, want := range map[string]string{"": "", "http://go": "http://go", "https://go.example.com/": "https://go.example.com", "http://go:8080": "http://go:8080"} {
		c, _, err := Parse("serve", "serve", []string{"--public-url", v}, env(nil), nil, nil, nil)
		if err != nil || c.PublicURL != want {
			t.Errorf("--public-url %q = %q, %v; want %q", v, c.PublicURL, err, want)
		}
	}
}

// A secret is masked in the one-line error too, given as a flag or in the
// environment, whatever shape the bad value has.
func TestInvalidSecretsAreMasked(t *testing.T) {
	for _, v := range []string{
		"mysql://u:secretpw@db:3306/x",
		"u:secretpw@db",
		"host=db password=secretpw",
		"secretpw",
		"ftp://db/?password=secretpw",
		"postgres://u:secretpw@db/x\x00",
	} {
		for _, how := range []string{"flag", "env"} {
			args, e := []string{"--database-url", v}, env(nil)
			if how == "env" {
				args, e = nil, env(map[string]string{"DATABASE_URL": v})
			}
			_, _, err := Parse("serve", "serve", args, e, nil, nil, nil)
			var ue *UsageError
			if !errors.As(err, &ue) {
				if err == nil {
					continue // a valid value: nothing printed
				}
				t.Fatalf("%s %q: %v, want a UsageError", how, v, err)
			}
			if strings.Contains(ue.Msg, "secretpw") || strings.Contains(ue.Usage, "secretpw") || !strings.Contains(ue.Msg, "DATABASE_URL") {
				t.Errorf("%s %q: message %q", how, v, ue.Msg)
			}
		}
	}
	// A value that is not secret is still shown, to say what was wrong.
	_, _, err := Parse("serve", "serve", []string{"--log-level", "loud"}, env(nil), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `"loud"`) || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("--log-level loud: %v", err)
	}
}
