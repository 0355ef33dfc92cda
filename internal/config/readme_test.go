package config

import (
	"os"
	"strings"
	"testing"
)

// The README's configuration table lists every setting `serve --help` does.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range Settings() {
		if !strings.Contains(readme, "| `"+s.Env+"` |") {
			t.Errorf("README.md's configuration table has no row for %s", s.Env)
		}
	}
}
