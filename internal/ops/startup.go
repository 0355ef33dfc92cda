package ops

import (
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"

	"github.com/signpost-go/signpost/internal/buildinfo"
	"github.com/signpost-go/signpost/internal/config"
)

// LogStartup logs one line with the version, the effective runtime tuning
// and every setting (secrets masked). getenv is the process environment
// (run's), which the Go runtime read GOGC and GOMAXPROCS from.
func LogStartup(log *slog.Logger, c config.Config, getenv func(string) string) {
	limit := debug.SetMemoryLimit(-1)
	mem := "none"
	if limit != math.MaxInt64 {
		mem = formatBytes(limit)
	}
	gogc := getenv("GOGC")
	if gogc == "" {
		gogc = "100"
	}
	procsFrom := "CPU count or cgroup CPU limit"
	if getenv("GOMAXPROCS") != "" {
		procsFrom = "GOMAXPROCS"
	}
	bi := buildinfo.Get()
	attrs := []any{
		"version", bi.Version, "revision", bi.Revision, "go", bi.GoVersion,
		"GOMAXPROCS", runtime.GOMAXPROCS(0), "GOMAXPROCS_source", procsFrom,
		"GOMEMLIMIT", mem, "GOMEMLIMIT_bytes", limit, "GOMEMLIMIT_source", memLimitSource(limit != math.MaxInt64, getenv),
		"GOGC", gogc,
		slog.Group("settings", c.Values()...),
	}
	log.Info("starting signpost", attrs...)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return slog.Int64Value(n).String() + "B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return slog.Float64Value(math.Round(float64(n)/float64(div)*10)/10).String() + string("KMGTPE"[exp]) + "iB"
}
