// Package hosttest copies the fixture host trees of daemon/host/testdata
// (proc/ and sys/ of real-shaped hosts) into test directories and
// snapshots them, so that tests can run tools against a tree and compare.
package hosttest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Copy copies the fixture tree src (a path relative to the test's package
// directory, such as "../testdata/mlx5") into a new t.TempDir and returns
// its path. Symbolic links are recreated, not followed.
func Copy(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
	})
	if err != nil {
		t.Fatalf("cannot copy fixture %s: %s", src, err)
	}
	return dst
}

// Snapshot returns the content of every regular file under root, keyed by
// the path relative to root, plus the target of every symbolic link.
func Snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			out[rel] = "-> " + link
			return err
		case d.IsDir():
			return nil
		}
		b, err := os.ReadFile(path)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("cannot snapshot %s: %s", root, err)
	}
	return out
}

// Read returns the content of root/rel, failing the test when it is
// unreadable.
func Read(t testing.TB, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("cannot read %s: %s", rel, err)
	}
	return string(b)
}

// Write replaces root/rel with content, creating directories.
func Write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("cannot create directory for %s: %s", rel, err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatalf("cannot write %s: %s", rel, err)
	}
}
