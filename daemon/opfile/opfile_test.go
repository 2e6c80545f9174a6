package opfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRead: a path that names a FIFO, a directory or a device fails at
// once instead of blocking; a file over the limit fails; a regular file
// reads.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	for _, p := range []string{fifo, dir, "/dev/zero"} {
		if _, _, err := Read(p, 1<<20); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v; want not a regular file", p, err)
		}
	}
	good := filepath.Join(dir, "f")
	if err := os.WriteFile(good, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	b, fi, err := Read(good, 5)
	if err != nil || string(b) != "hello" || fi.Mode().Perm() != 0o640 {
		t.Fatalf("regular file: %q, %v, %v", b, fi, err)
	}
	if _, _, err := Read(good, 4); err == nil || !strings.Contains(err.Error(), "has 5 bytes; at most 4") {
		t.Fatalf("file over the limit: %v", err)
	}
	if _, _, err := Read(filepath.Join(dir, "none"), 5); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
}
