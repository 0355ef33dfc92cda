// Command signpost is a go/links service: go/name redirects to the URL a
// team gave that name. See `signpost --help`.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(exitCode(run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr), os.Stderr))
}
