package host

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs checks that every package under daemon/host has exactly
// one package doc comment, starting "Package <name> " (tailscale
// pkgdoc_test.go).
func TestPackageDocs(t *testing.T) {
	dirs := make(map[string]bool)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cannot walk packages: %s", err)
	}
	if len(dirs) < 5 {
		t.Fatalf("found only %d packages: %v", len(dirs), dirs)
	}
	for dir := range dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		docs := 0
		for _, file := range matches {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatalf("cannot parse %s: %s", file, err)
			}
			if f.Doc == nil {
				continue
			}
			docs++
			if want := "Package " + f.Name.Name + " "; !strings.HasPrefix(f.Doc.Text(), want) {
				t.Errorf("%s: package doc must start with %q", file, want)
			}
		}
		if docs != 1 {
			t.Errorf("package %s has %d package doc comments; want 1", dir, docs)
		}
	}
}
