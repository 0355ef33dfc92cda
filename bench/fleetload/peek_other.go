//go:build !unix

package main

import "net"

// peerClosed cannot look without a blocking read here: the next request
// finds out.
func peerClosed(net.Conn) bool { return false }
