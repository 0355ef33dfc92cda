package ops

import (
	"errors"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memLimitRatio is the share of the container's memory limit given to the
// Go heap's soft limit; the rest is headroom for stacks, the binary and
// memory the runtime does not count.
const memLimitRatio = 0.9

// SetMemoryLimit sets the runtime's soft memory limit (GOMEMLIMIT) to 90% of
// the cgroup memory limit, unless GOMEMLIMIT is set in getenv (the process
// environment), in which case the runtime has already applied it and it
// wins. Outside a memory-limited cgroup it leaves the limit off. Call it
// before the start-up line, so that line states the limit in force.
//
// AUTOMEMLIMIT, automemlimit's own variable, changes the ratio (0.8) or
// turns this off ("off"). The library is asked only for the cgroup's
// limit: the variables are read through getenv, like every other setting.
func SetMemoryLimit(log *slog.Logger, getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	ratio := memLimitRatio
	switch v := getenv("AUTOMEMLIMIT"); v {
	case "":
	case "off":
		return
	default:
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0 && r <= 1) {
			log.Warn("GOMEMLIMIT not set from the cgroup memory limit: AUTOMEMLIMIT must be a ratio in (0, 1] or off", "AUTOMEMLIMIT", v)
			return
		}
		ratio = r
	}
	limit, err := memlimit.ApplyRatio(memlimit.FromCgroup, ratio)()
	switch {
	case err == nil:
		debug.SetMemoryLimit(int64(min(limit, uint64(1<<63-1))))
	case errors.Is(err, memlimit.ErrNoLimit):
		// A cgroup without a memory limit: nothing to follow.
	case errors.Is(err, memlimit.ErrNoCgroup), errors.Is(err, memlimit.ErrCgroupsNotSupported):
		log.Debug("GOMEMLIMIT not set: not running in a cgroup", "err", err)
	default:
		log.Warn("GOMEMLIMIT not set from the cgroup memory limit", "err", err)
	}
}

// memLimitSource says where the soft memory limit in force came from.
func memLimitSource(limitSet bool, getenv func(string) string) string {
	switch {
	case getenv("GOMEMLIMIT") != "":
		return "GOMEMLIMIT"
	case !limitSet:
		return "none"
	case getenv("AUTOMEMLIMIT") != "":
		return "cgroup (AUTOMEMLIMIT ratio)"
	default:
		return "cgroup (90%)"
	}
}
