// Package secret reads the daemon's secret files (notice keys, price
// keys).
//
// A secret file holds one item per line; blank lines and lines that
// start with '#' are skipped, so a file can say what it is for. A file
// read by others than its owner is read, with a warning.
package secret

import (
	"fmt"
	"iter"
	"log/slog"
	"os"
	"strings"
)

// Read reads the file path of the secret option, warning with what is at
// risk when others than its owner may read it.
func Read(option, path, risk string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", option, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		slog.Warn(option+" can be read by others than its owner: "+risk, "file", path, "mode", fi.Mode().Perm())
	}
	return b, nil
}

// Lines yields the items of a secret file's text with their line
// numbers (from 1), trimmed of surrounding white space, skipping blank
// lines and lines that start with '#'.
func Lines(text string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		n := 0
		for line := range strings.Lines(text) {
			n++
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			if !yield(n, line) {
				return
			}
		}
	}
}
