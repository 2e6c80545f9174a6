package openrtb

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
)

// number consumes a JSON number at p.i and returns its text.
func (p *parser) number() ([]byte, error) {
	start := p.i
	n := numberLen(p.b[p.i:])
	if n <= 0 {
		if p.i-n >= len(p.b) {
			return nil, p.eof()
		}
		return nil, p.errorf("invalid number")
	}
	p.i += n
	return p.b[start:p.i:p.i], nil
}

// numberLen returns the length of the JSON number at the start of s, or a
// non-positive value -k when the number is malformed at offset k.
func numberLen(s []byte) int {
	// Fast path: a plain positive integer, the common case.
	if len(s) > 0 && s[0]-'1' < 9 {
		i := 1
		for i < len(s) && s[i]-'0' < 10 {
			i++
		}
		if i == len(s) || (s[i] != '.' && s[i]|0x20 != 'e') {
			return i
		}
	}
	return numberLenSlow(s)
}

func numberLenSlow(s []byte) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return -i
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return -i
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -j
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return -j
		}
		i = j
	}
	return i
}

func digits(s []byte, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// numText returns the text of a number sent either bare or as a JSON string
// ("0.5", " 300 "). ok is false for null or an empty string (absent).
func (p *parser) numText() (tok []byte, ok bool, err error) {
	switch c := p.ws(); {
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, false, err
		}
		s = trimSpace(s)
		if len(s) == 0 {
			return nil, false, nil
		}
		if numberLen(s) != len(s) {
			return nil, false, p.errorf("invalid number in string")
		}
		return s, true, nil
	case c == '-' || (c >= '0' && c <= '9'):
		tok, err := p.number()
		return tok, err == nil, err
	case c == 'n':
		return nil, false, p.literal("null")
	case c == 't':
		return one, true, p.literal("true")
	case c == 'f':
		return zero, true, p.literal("false")
	default:
		return nil, false, p.unexpected("expected number")
	}
}

var one, zero = []byte("1"), []byte("0")

func trimSpace(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// int reads an integer field. Floats are truncated (tmax 933.33 is 933);
// numbers outside the int64 range are errors. Absent (null) reads as 0.
func (p *parser) int() (int, error) {
	b, i := p.b, p.i
	c := at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	if d := c - '0'; d < 10 {
		// A single digit, as most enumerations and flags are.
		if e := at(b, i+1); e == ',' || e|0x20 == '}' {
			p.i = i + 1
			return int(d), nil
		}
	} else if c == '-' {
		// -1, the "unknown" of podseq, slotinpod and others.
		if d := at(b, i+1) - '0'; d < 10 {
			if e := at(b, i+2); e == ',' || e|0x20 == '}' {
				p.i = i + 2
				return -int(d), nil
			}
		}
	}
	if c-'0' < 10 && uint(i+8) <= uint(len(b)) {
		// The common integer has fewer than eight digits: it is found
		// and converted eight bytes at a time.
		x := binary.LittleEndian.Uint64(b[i : i+8])
		if m := nonDigitMask(x); m != 0 {
			n := bits.TrailingZeros64(m) >> 3 // at least 1: c is a digit
			if e := b[i+n]; e != '.' && e|0x20 != 'e' && (c != '0' || n == 1) {
				p.i = i + n
				return eightDigits((x - lsb*'0') << ((64 - 8*n) & 63)), nil
			}
		}
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

// uintPrefix returns the value and length of the plain unsigned integer at
// the start of s, the common case of int. It returns n=0, leaving the
// number to the slow path, when the number has a fraction, an exponent, a
// leading zero or more than 18 digits, or when s ends right after it.
func uintPrefix(s []byte) (v, n int) {
	for n < len(s) && n < 18 {
		d := s[n] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int(d)
		n++
	}
	if n == 0 || n == len(s) || (s[0] == '0' && n > 1) {
		return 0, 0
	}
	switch s[n] {
	case '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return 0, 0
	}
	return v, n
}

func (p *parser) intSlow() (int, error) {
	tok, ok, err := p.numText()
	if !ok || err != nil {
		return 0, err
	}
	if v, ok := parseInt(tok); ok {
		return v, nil
	}
	f, err := p.parseFloat(tok)
	if err != nil {
		return 0, err
	}
	if f >= math.MaxInt64 || f < math.MinInt64 { // float64(MaxInt64) is 2^63, past it; MinInt64, -2^63, fits
		return 0, p.errorf("integer out of range")
	}
	return int(f), nil
}

// parseInt parses a plain decimal integer; ok is false when tok has a
// fraction or exponent, or overflows int64.
func parseInt(tok []byte) (int, bool) {
	neg := len(tok) > 0 && tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	if len(tok) == 0 || len(tok) > 18 {
		// 18 digits always fit; longer ones go through the float path,
		// which rejects what does not fit in int64.
		return 0, false
	}
	v := 0
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// float reads a float field; absent (null) reads as 0.
func (p *parser) float() (float64, error) {
	if f, j := plainDecimal(p.b, p.i); j > 0 {
		p.i = j
		return f, nil
	}
	tok, ok, err := p.numText()
	if !ok || err != nil {
		return 0, err
	}
	return p.parseFloat(tok)
}

// parseFloat parses a token already checked against the JSON grammar, so
// strconv never sees "NaN" or "Inf". Converting to string for the call does
// not allocate on success.
func (p *parser) parseFloat(tok []byte) (float64, error) {
	if f, ok := shortDecimal(tok); ok {
		return f, nil
	}
	if p.st.nativeSub && (len(tok) > 32 || bytes.ContainsAny(tok, "eE")) {
		// ParseFloat's errors allocate, and a native request's are
		// read on (see nativeSub): its numbers are small integers.
		return 0, p.errorf("number out of range")
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, p.errorf("number out of range")
	}
	return f, nil
}

// plainDecimal is shortDecimal for the bare number at i, scanned and
// converted in one pass: the common float ("6.51", "0.5", "3"), positive,
// of at most 15 digits, without exponent and not at the end of b. It
// returns the value and the offset after the number, or j=0 for anything
// else, which float reads through numText.
func plainDecimal(b []byte, i int) (f float64, j int) {
	if i < 0 || i >= len(b) || b[i]-'0' >= 10 {
		return 0, 0
	}
	var m uint64
	n, frac := 0, -1 // digits; digits after the '.', -1 before it
	for j = i; j < len(b); j++ {
		c := b[j]
		if c-'0' < 10 {
			m = m*10 + uint64(c-'0')
			n++
			if frac >= 0 {
				frac++
			}
			continue
		}
		if c != '.' || frac >= 0 {
			break
		}
		frac = 0
	}
	if j == len(b) || n > 15 || frac == 0 || b[j]|0x20 == 'e' ||
		(b[i] == '0' && j > i+1 && b[i+1] != '.') {
		// The end of input, too many digits, "1.", an exponent or a
		// leading zero ("01"): the general path.
		return 0, 0
	}
	f = float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	return f, j
}

// pow10 are the powers of ten that float64 holds exactly, up to 1e15.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortDecimal parses the common float, a decimal of at most 15 digits
// without exponent ("0.5", "1.25", "-3"), in a few instructions a digit.
// Its digits as an integer and the power of ten of its fraction are both
// exact in a float64, so their quotient is the correctly rounded value:
// the one strconv.ParseFloat returns (Clinger's fast path, which strconv
// takes too after a longer way there). ok is false for anything else;
// tok must match the JSON number grammar.
func shortDecimal(tok []byte) (f float64, ok bool) {
	neg := len(tok) > 0 && tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	var m uint64
	n, frac := 0, -1 // digits; digits after the '.', -1 before it
	for _, c := range tok {
		switch {
		case c-'0' < 10:
			m = m*10 + uint64(c-'0')
			n++
			if frac >= 0 {
				frac++
			}
		case c == '.':
			frac = 0
		default: // exponent
			return 0, false
		}
	}
	if n == 0 || n > 15 {
		return 0, false
	}
	f = float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// text reads a string field. A number is accepted and kept as its text
// (ids sent as numbers); null reads as nil.
func (p *parser) text() ([]byte, error) {
	b, i := p.b, p.i
	c := at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	if c == '"' {
		// str, with its fast path inlined.
		if j := quoteEnd(b, i+1); j >= 0 {
			p.i = j + 1
			return b[i+1 : j : j], nil
		}
	}
	p.i = i
	switch {
	case c == '"':
		return p.strSlow()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.unexpected("expected string")
	}
}

// strictText reads a string field that must be a JSON string or null.
func (p *parser) strictText() ([]byte, error) {
	switch c := p.ws(); c {
	case '"':
		return p.str()
	case 'n':
		return nil, p.literal("null")
	default:
		return nil, p.unexpected("expected string")
	}
}
