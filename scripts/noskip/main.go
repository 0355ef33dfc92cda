// Command noskip reads `go test -json` on stdin and prints what a plain
// `go test` would (each package's result line, and the whole output of a
// test that failed), then lists every test that skipped and exits 1 if
// any did. scripts/test-all.sh pipes its Go test runs through it when
// CI=true: in CI, PostgreSQL, Chromium and the other tools are installed,
// so a test that skips is a check that silently did not run.
//
//	go test -json ./... | go run ./scripts/noskip
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type key struct{ pkg, test string }

// skipped is one test that skipped, and why (its output).
type skipped struct {
	name   string
	reason string
}

// filter copies the readable part of the event stream in to out and
// returns the tests that skipped, in the order they did.
func filter(in io.Reader, out io.Writer) ([]skipped, error) {
	var skips []skipped
	output := map[key]*strings.Builder{}
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(out, sc.Text()) // build errors and the like
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output", "build-output":
			if e.Test == "" {
				// Package lines: ok, FAIL, panics outside a test.
				if !strings.HasPrefix(e.Output, "=== ") && e.Output != "PASS\n" {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			if output[k] == nil {
				output[k] = &strings.Builder{}
			}
			output[k].WriteString(e.Output)
		case "fail":
			if b := output[k]; b != nil && e.Test != "" {
				fmt.Fprint(out, b.String())
			}
			delete(output, k)
		case "skip":
			if e.Test != "" { // a package without tests skips too: not a test
				skips = append(skips, skipped{e.Package + " " + e.Test, reason(output[k])})
			}
			delete(output, k)
		case "pass":
			delete(output, k)
		}
	}
	return skips, sc.Err()
}

// reason is what a skipped test said: its log lines, without the
// === RUN and --- SKIP framing.
func reason(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, " ")
}

func main() {
	skips, err := filter(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "noskip:", err)
		os.Exit(1)
	}
	if len(skips) == 0 {
		fmt.Println("noskip: no test skipped")
		return
	}
	fmt.Printf("noskip: %d tests skipped; in CI every test must run:\n", len(skips))
	for _, s := range skips {
		fmt.Printf("  SKIP %s: %s\n", s.name, s.reason)
	}
	os.Exit(1)
}
