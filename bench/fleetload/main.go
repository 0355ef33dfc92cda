// Command fleetload is the load client of scripts/test-fleet.sh. It sends
// redirects and writes to Signpost at a bounded rate over keep-alive
// connections and records the outcome of every request: the status, or
// the connection error (refused, reset, closed with no response, timeout)
// and whether it hit a connection that had served before. It never
// retries, so nothing a load balancer or a stopping replica does is
// hidden, and it behaves like a well-kept keep-alive client otherwise: it
// leaves a connection after "Connection: close" and does not reuse one the
// server has already closed.
//
//	fleetload ndjson    -prefix P -n N [-bytes B]   links P-0.. as NDJSON on stdout
//	fleetload run       -url URL -rate R ... -out DIR  the load; results in DIR
//	fleetload verify    -acked FILE -urls U1,U2,..  every acknowledged write redirects on every replica
//	fleetload propagate -from U1 -to U3 -name N     how long a write on one replica takes to be served by another
//	fleetload clicks    -prefix P < export.ndjson   how many links P-<n> an export holds, and their clicks
//	fleetload haproxy   -socket S COMMAND...        one command ("set server ...") to HAProxy's admin socket
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fleetload ndjson|run|verify|propagate|clicks|haproxy [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ndjson":
		err = ndjson(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "verify":
		err = verify(os.Args[2:])
	case "propagate":
		err = propagate(os.Args[2:])
	case "clicks":
		err = clicks(os.Args[2:])
	case "haproxy":
		err = haproxy(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "fleetload: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleetload %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// target is the URL a test link points at, so that every redirect can be
// checked against it.
func target(prefix string, i int) string {
	return fmt.Sprintf("https://example.com/%s/%d", prefix, i)
}
