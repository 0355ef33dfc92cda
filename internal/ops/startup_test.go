package ops

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/signpost-go/signpost/internal/config"
)

// The start-up line and the memory limit read the environment run is
// given, not the process's.
func TestStartupReadsTheGivenEnvironment(t *testing.T) {
	env := map[string]string{"GOGC": "37", "GOMAXPROCS": "3", "GOMEMLIMIT": "100MiB"}
	getenv := func(k string) string { return env[k] }
	c, _, err := config.Parse("serve", "serve", nil, getenv, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	LogStartup(slog.New(slog.NewJSONHandler(&buf, nil)), c, getenv)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("start-up line: %v\n%s", err, buf.String())
	}
	for k, want := range map[string]any{"GOGC": "37", "GOMAXPROCS_source": "GOMAXPROCS", "GOMEMLIMIT_source": "GOMEMLIMIT"} {
		if line[k] != want {
			t.Errorf("start-up line %s = %v, want %v", k, line[k], want)
		}
	}
}

// SetMemoryLimit leaves the limit alone when getenv says GOMEMLIMIT is set
// (the runtime applied it) or AUTOMEMLIMIT is off, and refuses a bad ratio.
func TestSetMemoryLimitReadsTheGivenEnvironment(t *testing.T) {
	const mark = 123 << 20
	old := debug.SetMemoryLimit(mark)
	defer debug.SetMemoryLimit(old)
	for _, tt := range []struct {
		env  map[string]string
		warn string
	}{
		{map[string]string{"GOMEMLIMIT": "50MiB"}, ""},
		{map[string]string{"AUTOMEMLIMIT": "off"}, ""},
		{map[string]string{"AUTOMEMLIMIT": "2"}, "AUTOMEMLIMIT must be a ratio"},
		{map[string]string{"AUTOMEMLIMIT": "most"}, "AUTOMEMLIMIT must be a ratio"},
	} {
		var buf bytes.Buffer
		SetMemoryLimit(slog.New(slog.NewTextHandler(&buf, nil)), func(k string) string { return tt.env[k] })
		if got := debug.SetMemoryLimit(-1); got != mark {
			t.Errorf("%v: the limit changed to %d", tt.env, got)
		}
		if tt.warn != "" && !strings.Contains(buf.String(), tt.warn) {
			t.Errorf("%v: no warning %q, logged %q", tt.env, tt.warn, buf.String())
		}
		if tt.warn == "" && buf.Len() > 0 {
			t.Errorf("%v: logged %q", tt.env, buf.String())
		}
	}
	if got := memLimitSource(true, func(k string) string { return map[string]string{"AUTOMEMLIMIT": "0.8"}[k] }); got != "cgroup (AUTOMEMLIMIT ratio)" {
		t.Errorf("memLimitSource with AUTOMEMLIMIT=0.8: %q", got)
	}
}
