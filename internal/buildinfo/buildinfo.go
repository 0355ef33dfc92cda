// Package buildinfo says which build is running. Release builds are stamped
// at link time:
//
//	go build -ldflags "-X github.com/signpost-go/signpost/internal/buildinfo.Version=v1.2.3 ..."
//
// What is not stamped comes from the build information Go writes into every
// binary (debug.ReadBuildInfo): `go install github.com/signpost-go/signpost/cmd/signpost@v1.2.3`
// says v1.2.3, a `go build` in a git checkout says its pseudo-version and
// commit. Only a build with neither (go run, go test) says "dev".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// The link-time stamps. They are the only package-level variables we keep,
// nothing writes them at run time, and they are read through Get.
var (
	Version  = "dev"
	Revision = "unknown"
	Date     = "unknown"
)

// Info describes a build.
type Info struct {
	Version   string // v1.2.3, a module pseudo-version, or "dev"
	Revision  string // the commit, "unknown" when no one knows it
	Date      string // the commit's date (RFC 3339), or "unknown"
	GoVersion string // the Go release the binary was built with
}

// Get returns the stamped values, completed from Go's build information.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolve(Info{Version: Version, Revision: Revision, Date: Date, GoVersion: runtime.Version()}, bi)
}

// resolve fills what stamped leaves at its default from bi (nil: none).
func resolve(stamped Info, bi *debug.BuildInfo) Info {
	out := stamped
	if bi == nil {
		return out
	}
	// "(devel)" is what Go records for the main module of a plain build
	// without VCS information; it says no more than "dev".
	if out.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		out.Version = bi.Main.Version
	}
	var revision, date string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if out.Revision == "unknown" && revision != "" {
		out.Revision = revision
		if modified {
			out.Revision += "-dirty"
		}
	}
	if out.Date == "unknown" && date != "" {
		out.Date = date
	}
	return out
}
