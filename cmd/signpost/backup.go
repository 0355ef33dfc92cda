package main

import (
	"context"
	"fmt"
	"io"

	"github.com/signpost-go/signpost/internal/config"
	"github.com/signpost-go/signpost/internal/store"
)

// backup copies a SQLite database with VACUUM INTO, safe while a server
// writes to it (docs/operations.md, "Backup and restore").
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, rest, err := config.Parse("backup", "backup FILE [flags]", args, getenv, dbSettings, stdout, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return &config.UsageError{Msg: "backup: give one FILE to write the copy to"}
	}
	res, err := store.Backup(ctx, c.DatabaseURL, rest[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backed up %d links (schema version %d, %d bytes) to %s\n", res.Links, res.SchemaVersion, res.Bytes, rest[0])
	return nil
}
