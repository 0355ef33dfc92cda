// Package buildinfo holds the version stamped into the binary at link time:
//
//	go build -ldflags "-X github.com/signpost-go/signpost/internal/buildinfo.Version=v1.2.3 ..."
//
// A plain `go build` leaves Version "dev".
package buildinfo

import "runtime"

// Set with -ldflags -X; these are the only package-level variables we keep,
// and nothing writes them at run time.
var (
	Version  = "dev"
	Revision = "unknown"
	Date     = "unknown"
)

// GoVersion is the Go release the binary was built with.
func GoVersion() string { return runtime.Version() }
