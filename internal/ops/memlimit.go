package ops

import (
	"errors"
	"log/slog"
	"os"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memLimitRatio is the share of the container's memory limit given to the
// Go heap's soft limit; the rest is headroom for stacks, the binary and
// memory the runtime does not count.
const memLimitRatio = 0.9

// SetMemoryLimit sets the runtime's soft memory limit (GOMEMLIMIT) to 90% of
// the cgroup memory limit, unless the GOMEMLIMIT environment variable is
// set, in which case the runtime has already applied it and it wins.
// Outside a memory-limited cgroup it leaves the limit off. Call it before
// the start-up line, so that line states the limit in force.
//
// automemlimit's AUTOMEMLIMIT variable still works: a ratio such as 0.8,
// or "off".
func SetMemoryLimit(log *slog.Logger) {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		return
	}
	_, err := memlimit.Set(
		memlimit.WithRatio(memLimitRatio),
		memlimit.WithProvider(memlimit.FromCgroup),
	)
	switch {
	case err == nil:
	case errors.Is(err, memlimit.ErrNoCgroup), errors.Is(err, memlimit.ErrCgroupsNotSupported):
		log.Debug("GOMEMLIMIT not set: not running in a cgroup", "err", err)
	default:
		log.Warn("GOMEMLIMIT not set from the cgroup memory limit", "err", err)
	}
}

// memLimitSource says where the soft memory limit in force came from.
func memLimitSource(limitSet bool) string {
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		return "GOMEMLIMIT"
	case !limitSet:
		return "none"
	case os.Getenv("AUTOMEMLIMIT") != "":
		return "cgroup (AUTOMEMLIMIT ratio)"
	default:
		return "cgroup (90%)"
	}
}
