package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	unstamped := Info{Version: "dev", Revision: "unknown", Date: "unknown", GoVersion: "go1.26.0"}
	stamped := Info{Version: "v1.2.3", Revision: "abc123", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26.0"}
	vcs := []debug.BuildSetting{
		{Key: "-trimpath", Value: "true"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef"},
		{Key: "vcs.time", Value: "2026-11-25T09:00:00Z"},
		{Key: "vcs.modified", Value: "false"},
	}
	for _, tc := range []struct {
		name    string
		stamped Info
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build info", unstamped, nil, unstamped},
		{"go run or go test: (devel), no VCS", unstamped,
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/signpost-go/signpost", Version: "(devel)"}}, unstamped},
		{"go install module@version", unstamped,
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/signpost-go/signpost", Version: "v1.4.0"}},
			Info{Version: "v1.4.0", Revision: "unknown", Date: "unknown", GoVersion: "go1.26.0"}},
		{"go build in a git checkout", unstamped,
			&debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261125090000-0123456789ab"}, Settings: vcs},
			Info{Version: "v1.4.1-0.20261125090000-0123456789ab", Revision: "0123456789abcdef", Date: "2026-11-25T09:00:00Z", GoVersion: "go1.26.0"}},
		{"uncommitted changes", unstamped,
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: append(vcs[:4:4], debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			Info{Version: "dev", Revision: "0123456789abcdef-dirty", Date: "2026-11-25T09:00:00Z", GoVersion: "go1.26.0"}},
		{"stamps win over build info", stamped,
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261125090000-0123456789ab"}, Settings: vcs}, stamped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.stamped, tc.bi); got != tc.want {
				t.Errorf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The test binary carries no module version and no VCS stamps (go test
// records neither), so it is "dev": what `go run` says too.
func TestGetInTestBinary(t *testing.T) {
	if got := Get(); got.Version != "dev" || got.GoVersion == "" {
		t.Errorf("Get() = %+v, want version dev", got)
	}
}
