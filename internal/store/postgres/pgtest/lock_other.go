//go:build !unix

package pgtest

import "testing"

// lockCluster is a no-op where flock is missing: run outage tests alone.
func lockCluster(t testing.TB, exclusive bool) {}
