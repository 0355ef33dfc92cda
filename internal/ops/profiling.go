package ops

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/grafana/pyroscope-go"

	"github.com/signpost-go/signpost/internal/buildinfo"
)

// ProfileTypes are the profiles pushed to Pyroscope: CPU, allocations and
// in-use memory (objects and bytes), goroutines, mutex and block contention
// (count and duration).
var ProfileTypes = []pyroscope.ProfileType{
	pyroscope.ProfileCPU,
	pyroscope.ProfileAllocObjects,
	pyroscope.ProfileAllocSpace,
	pyroscope.ProfileInuseObjects,
	pyroscope.ProfileInuseSpace,
	pyroscope.ProfileGoroutines,
	pyroscope.ProfileMutexCount,
	pyroscope.ProfileMutexDuration,
	pyroscope.ProfileBlockCount,
	pyroscope.ProfileBlockDuration,
}

// mutexFraction samples 1 in 5 mutex contention events; blockRate aims at
// one sampled blocking event per 5ns spent blocked, which records nearly
// every one. Both are the seed's values, and both cost something on every
// contended lock and channel wait, so they are set only while continuous
// profiling runs (the runtime's default for both is off).
const (
	mutexFraction = 5
	blockRate     = 5
)

// ProfilingOptions configure continuous profiling.
type ProfilingOptions struct {
	// Server is PYROSCOPE_SERVER; empty leaves profiling off. A user and
	// password in the URL are sent as HTTP basic auth.
	Server string
	// Env is the env tag (ENV).
	Env string
	// UploadRate is how often profiles are pushed; 0 means Pyroscope's
	// default (15s).
	UploadRate time.Duration
	Log        *slog.Logger
}

// Profiler is a running continuous-profiling session; a nil *Profiler is
// off and its Stop does nothing.
type Profiler struct {
	p    *pyroscope.Profiler
	log  *slog.Logger
	once sync.Once
}

// StartProfiling starts pushing profiles to opt.Server, tagged with the
// application name "signpost", env and version. It returns nil when
// opt.Server is empty.
func StartProfiling(opt ProfilingOptions) (*Profiler, error) {
	if opt.Server == "" {
		return nil, nil
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(opt.Server)
	if err != nil {
		return nil, fmt.Errorf("PYROSCOPE_SERVER: %w", err)
	}
	var user, pass string
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	version := buildinfo.Get().Version
	tags := map[string]string{"version": version}
	if opt.Env != "" {
		tags["env"] = opt.Env
	}

	runtime.SetMutexProfileFraction(mutexFraction)
	runtime.SetBlockProfileRate(blockRate)
	p, err := pyroscope.Start(pyroscope.Config{
		ApplicationName:   "signpost",
		ServerAddress:     u.String(),
		BasicAuthUser:     user,
		BasicAuthPassword: pass,
		Tags:              tags,
		ProfileTypes:      ProfileTypes,
		UploadRate:        opt.UploadRate,
		Logger:            pyroscopeLogger{opt.Log.With("component", "pyroscope")},
	})
	if err != nil {
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
		return nil, fmt.Errorf("start continuous profiling: %w", err)
	}
	opt.Log.Info("continuous profiling on", "server", u.Redacted(), "env", opt.Env, "version", version,
		"mutex_profile_fraction", mutexFraction, "block_profile_rate", blockRate)
	return &Profiler{p: p, log: opt.Log}, nil
}

// Stop ends continuous profiling and turns mutex and block sampling off
// again. With a positive wait it first pushes what was profiled since the
// last upload, waiting that long at most; with 0 it returns at once (the
// uploaders finish in the background). Only the first call does anything.
func (p *Profiler) Stop(wait time.Duration) {
	if p == nil {
		return
	}
	p.once.Do(func() {
		defer func() {
			runtime.SetMutexProfileFraction(0)
			runtime.SetBlockProfileRate(0)
		}()
		if wait <= 0 {
			go p.p.Stop()
			return
		}
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		done := make(chan struct{})
		go func() {
			p.p.Flush(true)
			// Stop waits for the uploaders, which give up only after their
			// own 30s timeout: the deadline keeps a dead profiling server
			// from holding the exit.
			p.p.Stop()
			close(done)
		}()
		select {
		case <-done:
		case <-deadline.C:
			p.log.Warn("continuous profiling: the last profiles were not pushed in time", "wait", wait)
		}
	})
}

// pyroscopeLogger sends the client's messages to slog; its chatty info
// lines (the session settings) go to debug.
type pyroscopeLogger struct{ log *slog.Logger }

func (l pyroscopeLogger) Infof(f string, a ...any) { l.Debugf(f, a...) }
func (l pyroscopeLogger) Debugf(f string, a ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(f, a...))
	}
}
func (l pyroscopeLogger) Errorf(f string, a ...any) { l.log.Warn(fmt.Sprintf(f, a...)) }
