package statefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// encode returns a file holding the sections in order.
func encode(sections ...[2]string) []byte {
	var e Encoder
	e.Reset()
	for _, s := range sections {
		e.Section(s[0], func(dst []byte) []byte { return append(dst, s[1]...) })
	}
	return e.Bytes()
}

func TestDecodeReadsWhatEncoderWrote(t *testing.T) {
	b := encode([2]string{"spend", "abc"}, [2]string{"empty", ""}, [2]string{"freq", strings.Repeat("x", 300)})
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"spend": "abc", "empty": "", "freq": strings.Repeat("x", 300)}
	if len(got) != len(want) {
		t.Fatalf("%d sections; want %d", len(got), len(want))
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Fatalf("section %q = %q; want %q", k, got[k], v)
		}
	}
	// The encoder's buffer is reused: a second file does not carry the first.
	var e Encoder
	e.Reset()
	e.Section("a", func(dst []byte) []byte { return append(dst, "1"...) })
	first := bytes.Clone(e.Bytes())
	e.Reset()
	e.Section("b", func(dst []byte) []byte { return append(dst, "2"...) })
	if got, err := Decode(e.Bytes()); err != nil || len(got) != 1 || string(got["b"]) != "2" {
		t.Fatalf("second file: %q, %v; want only b=2", got, err)
	}
	if _, err := Decode(first); err != nil {
		t.Fatal(err)
	}
}

// TestDecodeRejectsDamage: every cut, every flipped byte and a wrong
// version are errors, never a partial read.
func TestDecodeRejectsDamage(t *testing.T) {
	b := encode([2]string{"spend", "some counters"}, [2]string{"freq", "slots"})
	for n := 0; n < len(b); n++ {
		if _, err := Decode(b[:n]); err == nil {
			t.Fatalf("cut to %d of %d bytes: no error", n, len(b))
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		if _, err := Decode(c); err == nil {
			t.Fatalf("byte %d flipped: no error", i)
		}
	}
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint32(c[len(magic):], 2)
	body := c[:len(c)-4]
	binary.LittleEndian.PutUint32(c[len(c)-4:], crc32.Checksum(body, crcTable))
	if _, err := Decode(c); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("version 2: err %v; want one naming the version", err)
	}
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "spend")
	for _, content := range []string{"first, the longer one", "second"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir"), []byte("x")); err == nil {
		t.Fatal("write into a missing directory: no error")
	}
}

// counter is a Part's state for the Store tests.
type counter struct{ n uint64 }

func (c *counter) part(name string) Part {
	return Part{
		Name:   name,
		Append: func(dst []byte) []byte { return binary.LittleEndian.AppendUint64(dst, c.n) },
		Restore: func(b []byte) (int, error) {
			if len(b) != 8 {
				return 0, errors.New("want 8 bytes")
			}
			c.n = binary.LittleEndian.Uint64(b)
			return 1, nil
		},
	}
}

func TestStoreSavesAndRestores(t *testing.T) {
	dir := t.TempDir()
	a, b := &counter{n: 7}, &counter{n: 9}
	if err := New(dir, "s", a.part("a"), b.part("b")).Save(); err != nil {
		t.Fatal(err)
	}
	a2, b2, c2 := &counter{}, &counter{}, &counter{n: 5}
	// A part the file lacks starts as it is; a section no part reads is
	// ignored.
	if err := New(dir, "s", b2.part("b"), a2.part("a"), c2.part("c")).Load(); err != nil {
		t.Fatal(err)
	}
	if a2.n != 7 || b2.n != 9 || c2.n != 5 {
		t.Fatalf("restored a=%d b=%d c=%d; want 7, 9 and 5 (untouched)", a2.n, b2.n, c2.n)
	}
	if err := New(dir, "s", a2.part("a")).Load(); err != nil {
		t.Fatal(err)
	}
}

func TestStoreLoadMissingIsFirstStart(t *testing.T) {
	c := &counter{n: 3}
	if err := New(t.TempDir(), "s", c.part("a")).Load(); err != nil || c.n != 3 {
		t.Fatalf("missing file: err %v, n %d; want nil and 3", err, c.n)
	}
}

// TestStoreLoadRefusesDamage: a damaged file or a section its part cannot
// read stops the start with an error that names the file and the way out.
func TestStoreLoadRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	c := &counter{n: 3}
	s := New(dir, "s", c.part("a"))
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:len(b)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.Load()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("truncated file: err %v; want one naming %s and the way out", err, path)
	}
	bad := Part{Name: "a", Append: c.part("a").Append, Restore: func([]byte) (int, error) { return 0, errors.New("no") }}
	if err := New(dir, "t", c.part("a")).Save(); err != nil {
		t.Fatal(err)
	}
	if err := New(dir, "t", bad).Load(); err == nil || !strings.Contains(err.Error(), "section a: no") {
		t.Fatalf("section its part rejects: err %v; want one naming the section", err)
	}
}
