package secret

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	tokA = "0123456789abcdef0123456789abcdef"                    // 32, the shortest
	tokB = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA-._~+/==" // base64 with every extra character
)

func TestLines(t *testing.T) {
	text := "# keys of site 1\n\n  first  \r\n#second\nthird"
	var got []string
	for n, line := range Lines(text) {
		got = append(got, strings.Repeat("+", n)+line)
	}
	if want := []string{"+++first", "+++++third"}; !slices.Equal(got, want) {
		t.Fatalf("Lines: %q; want %q", got, want)
	}
}

func TestParseTokens(t *testing.T) {
	got, err := ParseTokens("# admin tokens\n" + tokB + "\n\n" + tokA + "\n")
	if err != nil || !slices.Equal(got, []string{tokB, tokA}) {
		t.Fatalf("ParseTokens: %q, %v", got, err)
	}
	for text, want := range map[string]string{
		"":                         "no token",
		"# nothing\n\n":            "no token",
		tokA[1:]:                   "line 1: a token is 32 to 512",
		tokA + "\n" + tokA + " x":  "line 2:",
		tokA + "\n\n" + "é" + tokA: "line 3:",
		tokA + ",":                 "line 1:",
		"=" + tokA:                 "line 1:",
		strings.Repeat("=", 40):    "line 1:",
		strings.Repeat("a", 513):   "line 1:",
	} {
		if got, err := ParseTokens(text); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseTokens(%.20q): %q, %v; want an error starting %q", text, got, err, want)
		}
	}
	if _, err := ParseTokens(strings.Repeat("a", 512)); err != nil {
		t.Errorf("a 512-character token: %v", err)
	}
}

func TestCheck(t *testing.T) {
	for _, tokens := range []*Tokens{nil, {}, NewTokens(nil)} {
		if v := tokens.Check(nil); v != Allowed {
			t.Errorf("no tokens, no header: %v; want Allowed", v)
		}
		if v := tokens.Check([]byte("Bearer whatever")); v != Allowed {
			t.Errorf("no tokens, a header: %v; want Allowed", v)
		}
		if h := tokens.Header(); h != "" {
			t.Errorf("no tokens: header %q; want none", h)
		}
	}
	tokens := NewTokens([]string{tokA, tokB})
	if h := tokens.Header(); h != "Bearer "+tokA {
		t.Errorf("Header: %q; want the first token's", h)
	}
	for h, want := range map[string]Verdict{
		"":                          Missing,
		"Bearer " + tokA:            Allowed,
		"Bearer " + tokB:            Allowed, // every token is accepted
		"bearer " + tokA:            Allowed,
		"BEARER   " + tokA:          Allowed,
		"Bearer " + tokA + "0":      Wrong,
		"Bearer " + tokA[:31]:       Wrong,
		"Bearer " + tokA[:31] + "F": Wrong,
		"Bearer ":                   Wrong,
		"Bearer":                    Wrong,
		"Basic " + tokA:             Wrong,
		tokA:                        Wrong,
	} {
		if v := tokens.Check([]byte(h)); v != want {
			t.Errorf("Check(%q): %v; want %v", h, v, want)
		}
	}
	tokens.Set([]string{tokB})
	if v := tokens.Check([]byte("Bearer " + tokA)); v != Wrong {
		t.Errorf("a token no longer set: %v; want Wrong", v)
	}
	if h := tokens.Header(); h != "Bearer "+tokB {
		t.Errorf("Header after Set: %q", h)
	}
}

func TestReadTokens(t *testing.T) {
	if got, err := ReadTokens("x.tokenFile", "", "risk"); got != nil || err != nil {
		t.Fatalf("no file: %q, %v; want nothing", got, err)
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if _, err := ReadTokens("x.tokenFile", path, "risk"); err == nil || !strings.Contains(err.Error(), "cannot read x.tokenFile") {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTokens("x.tokenFile", path, "risk"); err == nil || !strings.HasPrefix(err.Error(), "x.tokenFile "+path+": line 1:") {
		t.Fatalf("bad file: %v; want the option, the file and the line", err)
	}
	if err := os.WriteFile(path, []byte(tokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadTokens("x.tokenFile", path, "risk"); err != nil || !slices.Equal(got, []string{tokA}) {
		t.Fatalf("ReadTokens: %q, %v", got, err)
	}
	// A path naming a directory or a device fails at once: opening a
	// FIFO or reading /dev/zero would block a reload.
	for _, p := range []string{t.TempDir(), "/dev/zero"} {
		if _, err := ReadTokens("x.tokenFile", p, "risk"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v; want not a regular file", p, err)
		}
		if _, err := ReadRoots("x.caFile", p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v; want not a regular file", p, err)
		}
	}
}

// TestCheckNoAlloc: a check allocates nothing, whatever its verdict.
func TestCheckNoAlloc(t *testing.T) {
	tokens := NewTokens([]string{tokA, tokB})
	for _, h := range []string{"Bearer " + tokB, "bearer " + tokA + "x", ""} {
		b := []byte(h)
		if n := testing.AllocsPerRun(100, func() { tokens.Check(b) }); n != 0 {
			t.Errorf("Check(%q): %v allocations; want 0", h, n)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	tokens := NewTokens([]string{tokA, tokB})
	h := []byte("Bearer " + tokB)
	for b.Loop() {
		if tokens.Check(h) != Allowed {
			b.Fatal("refused")
		}
	}
}
