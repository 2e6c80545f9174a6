// Package secret reads the daemon's secret files (notice keys, price
// keys, bearer tokens) and checks the bearer tokens that the admin and
// peer listeners ask for. It also reads the certificate authorities that
// rtbd's TLS clients trust (ReadRoots), which are not secret.
//
// A secret file holds one item per line; blank lines and lines that
// start with '#' are skipped, so a file can say what it is for. A file
// read by others than its owner is read, with a warning.
package secret

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/rtbd/rtbd/daemon/opfile"
)

// MaxFileBytes bounds a secret or CA file: some thousand keys or
// certificates.
const MaxFileBytes = 4 << 20

// Read reads the file path of the secret option, warning with what is at
// risk when others than its owner may read it.
func Read(option, path, risk string) ([]byte, error) {
	b, fi, err := opfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", option, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
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

// Token lengths: 32 characters is 192 bits in base64, 128 in hex.
const (
	MinTokenLen = 32
	MaxTokenLen = 512
)

// ParseTokens reads bearer tokens, one per line: 32 to 512 characters
// of RFC 6750's token68 (letters, digits and "-._~+/", then any '=';
// `openssl rand -hex 32` makes one). The first is the one a host sends,
// and every one is accepted: to rotate, add the new token second on
// every host, then move it first, then drop the old one, reloading
// after each step.
func ParseTokens(text string) ([]string, error) {
	var tokens []string
	for n, line := range Lines(text) {
		if len(line) < MinTokenLen || len(line) > MaxTokenLen || !isToken68(line) {
			return nil, fmt.Errorf("line %d: a token is %d to %d characters of letters, digits and -._~+/ (then any =): openssl rand -hex 32", n, MinTokenLen, MaxTokenLen)
		}
		tokens = append(tokens, line)
	}
	if len(tokens) == 0 {
		return nil, errors.New("no token")
	}
	return tokens, nil
}

func isToken68(s string) bool {
	s = strings.TrimRight(s, "=")
	if s == "" {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

// ReadTokens reads the token file path of option (see ParseTokens); an
// empty path reads nothing and returns no token.
func ReadTokens(option, path, risk string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := Read(option, path, risk)
	if err != nil {
		return nil, err
	}
	tokens, err := ParseTokens(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", option, path, err)
	}
	return tokens, nil
}

// Tokens is the bearer tokens a listener accepts, and the first of them
// the one a client sends, swapped whole by a reload. The zero value and
// nil hold none: every request is allowed and none is sent.
type Tokens struct {
	p atomic.Pointer[[][]byte]
}

// NewTokens returns Tokens holding list.
func NewTokens(list []string) *Tokens {
	t := &Tokens{}
	t.Set(list)
	return t
}

// Set replaces the tokens with list; none: every request is allowed.
func (t *Tokens) Set(list []string) {
	b := make([][]byte, len(list))
	for i, tok := range list {
		b[i] = []byte(tok)
	}
	t.p.Store(&b)
}

func (t *Tokens) list() [][]byte {
	if t == nil {
		return nil
	}
	if p := t.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Header returns the Authorization header value to send, "Bearer " and
// the first token, or "" when there is none.
func (t *Tokens) Header() string {
	if l := t.list(); len(l) > 0 {
		return "Bearer " + string(l[0])
	}
	return ""
}

// Verdict is what Check makes of a request's Authorization header.
type Verdict uint8

const (
	Allowed Verdict = iota // one of the tokens, or there are none to ask for
	Missing                // no Authorization header
	Wrong                  // another scheme, or a token that is none of them
)

// Check compares the bearer token of the Authorization header value h
// with each token in constant time (it tells no more than their lengths).
// The scheme is matched without regard to case, as RFC 7235 has it.
func (t *Tokens) Check(h []byte) Verdict {
	l := t.list()
	if len(l) == 0 {
		return Allowed
	}
	if len(h) == 0 {
		return Missing
	}
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(string(h[:len(scheme)]), scheme) {
		return Wrong
	}
	got := h[len(scheme):]
	for len(got) > 0 && got[0] == ' ' {
		got = got[1:]
	}
	ok := 0
	for _, tok := range l {
		ok |= subtle.ConstantTimeCompare(got, tok)
	}
	if ok == 1 {
		return Allowed
	}
	return Wrong
}
