package openrtb

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"testing"
)

// TestSpecialMask checks the lowest flag of specialMask against a byte loop
// for every byte value at every position, with a second special byte (whose
// borrows must not matter) after it.
func TestSpecialMask(t *testing.T) {
	t.Parallel()
	first := func(w []byte) int {
		for k, c := range w {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return k
			}
		}
		return 8
	}
	w := make([]byte, 8)
	for k := 0; k < 8; k++ {
		for v := 0; v < 256; v++ {
			for _, after := range []byte{'a', 0, '"', 0xff} {
				for j := range w {
					w[j] = 'a'
				}
				w[k] = byte(v)
				if k < 7 {
					w[7] = after
				}
				want := first(w)
				got := bits.TrailingZeros64(specialMask(binary.LittleEndian.Uint64(w))) >> 3
				if got != want {
					t.Fatalf("unexpected first special byte in %q; got %d; want %d", w, got, want)
				}
			}
		}
	}
}

func TestQuoteEnd(t *testing.T) {
	t.Parallel()
	f := func(s string, want int) {
		t.Helper()
		if got := quoteEnd([]byte(s), 0); got != want {
			t.Fatalf("unexpected quoteEnd(%q); got %d; want %d", s, got, want)
		}
	}
	f(`id":"1234567`, 2)
	f(`maxduration":30}`, 11)
	f(`0123456789abcdef"}}}}}}}`, 16)
	f(`id"`, -1)                // fewer than 8 bytes: the slow path decides
	f(`a\"b":1,"x":2}`, -1)     // escape
	f("caf\xc3\xa9\":1,\"", -1) // non-ASCII
	f("a\tb\":1,\"xyz", -1)     // control character
}

func TestSkipWS(t *testing.T) {
	t.Parallel()
	f := func(s string, want int) {
		t.Helper()
		if got := skipWS([]byte(s), 0); got != want {
			t.Fatalf("unexpected skipWS(%q); got %d; want %d", s, got, want)
		}
	}
	f(``, 0)
	f(`x`, 0)
	f(` x`, 1)
	f("\n          \"id\"", 11)
	f("\n                  }", 19)
	f(" \t\r\n \n  \t x", 10)
	f("   \x00   ", 3) // a control character stops the scan
	f("\n ", 2)
	f("                ", 16)
}

func TestPlainInt(t *testing.T) {
	t.Parallel()
	f := func(s string, want int) {
		t.Helper()
		if got := plainInt([]byte(s), 0, s[0]); got != want {
			t.Fatalf("unexpected plainInt(%q); got %d; want %d", s, got, want)
		}
	}
	f("1,", 1)
	f("640}", 3)
	f("0,", 0)   // leading zero: general path
	f("-1,", 0)  // sign: general path
	f("1.5,", 0) // fraction
	f("1e3,", 0) // exponent
	f("2E3,", 0)
	f("12", 0) // end of input
}

func TestUintPrefix(t *testing.T) {
	t.Parallel()
	f := func(s string, wantV, wantN int) {
		t.Helper()
		if v, n := uintPrefix([]byte(s)); v != wantV || n != wantN {
			t.Fatalf("unexpected uintPrefix(%q); got %d, %d; want %d, %d", s, v, n, wantV, wantN)
		}
	}
	f("120,", 120, 3)
	f("0}", 0, 1)
	f("01,", 0, 0)
	f("933.33,", 0, 0)
	f("1e2,", 0, 0)
	f("999999999999999999,", 999999999999999999, 18)
	f("9999999999999999999,", 0, 0) // 19 digits: the slow path checks the range
	f("5", 0, 0)                    // end of input
	f("-5,", 0, 0)
	f(",", 0, 0)
}

// refInt is parser.int without its eight-byte path.
func refInt(p *parser) (int, error) {
	b, i := p.b, p.i
	c := at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	if c >= '0' && c <= '9' {
		if v, n := uintPrefix(b[i:]); n > 0 {
			p.i = i + n
			return v, nil
		}
	}
	p.i = i
	return p.intSlow()
}

func TestIntWord(t *testing.T) {
	t.Parallel()
	// Every length of digits around the eight of a word, with each byte
	// value after them and the input ending at each length after them.
	for n := 1; n <= 20; n++ {
		for c := 0; c < 256; c++ {
			for _, lead := range []string{"0", "1", "9", " 9", "-1"} {
				s := []byte(lead)
				for k := 1; k < n; k++ {
					s = append(s, byte('0'+(k*7+n)%10))
				}
				s = append(s, byte(c), '9', '}', ' ', ' ', ' ', ' ', ' ', ' ')
				for end := n; end <= len(s); end++ {
					p := parser{b: s[:end]}
					v, err := p.int()
					q := parser{b: s[:end]}
					wantV, wantErr := refInt(&q)
					if v != wantV || p.i != q.i || fmt.Sprint(err) != fmt.Sprint(wantErr) {
						t.Fatalf("unexpected int(%q); got %d, %v at %d; want %d, %v at %d", s[:end], v, err, p.i, wantV, wantErr, q.i)
					}
				}
			}
		}
	}
}
