//go:build unix

package pgtest

import (
	"os"
	"syscall"
	"testing"
)

// lockCluster holds the cluster's lock file until the test ends: shared by
// ordinary tests, exclusive for outage tests. Without SIGNPOST_TEST_PG_LOCK
// it does nothing.
func lockCluster(t testing.TB, exclusive bool) {
	t.Helper()
	path := os.Getenv(EnvLock)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("%s: %v", EnvLock, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
