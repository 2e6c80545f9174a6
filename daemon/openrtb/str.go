package openrtb

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// strClass marks the bytes that end the fast path of string scanning.
var strClass = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// rawStr consumes a JSON string (p.b[p.i] must be '"') and returns whether
// it contained escapes. It validates escapes, control characters and UTF-8.
func (p *parser) rawStr() (escaped bool, err error) {
	if j := quoteEnd(p.b, p.i+1); j >= 0 {
		p.i = j + 1
		return false, nil
	}
	return p.rawStrSlow(true)
}

// skipStr is rawStr for a string the view does not keep: its UTF-8 is not
// checked. Exchanges cut long strings at a byte count, splitting a
// character, and a request was refused with a 400 for a broken character
// in a field rtbd never reads (an ext, a user agent).
func (p *parser) skipStr() error {
	if j := quoteEnd(p.b, p.i+1); j >= 0 {
		p.i = j + 1
		return nil
	}
	_, err := p.rawStrSlow(false)
	return err
}

// quoteEnd returns the offset of the closing quote of the string whose
// content starts at i, when the content is plain ASCII without escapes and
// the quote is found eight bytes at a time; otherwise it returns -1 and the
// caller takes the slow path. Plain strings are the vast majority.
//
// The loop's shape lets the compiler drop the bounds checks of the eight
// bytes it loads: with i known not negative, i <= len(b)-8 proves them in
// range (i+8 <= len(b) did not, and cost four instructions a step).
func quoteEnd(b []byte, i int) int {
	if i < 0 {
		return -1
	}
	for ; i <= len(b)-8; i += 8 {
		if m := specialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			if i += bits.TrailingZeros64(m) >> 3; b[i] == '"' {
				return i
			}
			return -1
		}
	}
	return -1
}

// rawStrSlow is rawStr for the strings quoteEnd leaves: escapes, non-ASCII
// bytes, errors and the last bytes of the input.
func (p *parser) rawStrSlow(checkUTF8 bool) (escaped bool, err error) {
	p.i++ // opening quote
	start, high := p.i, false
	for p.i < len(p.b) {
		p.i = skipPlain(p.b, p.i)
		if p.i >= len(p.b) {
			break
		}
		switch c := p.b[p.i]; {
		case c == '"':
			if high && checkUTF8 && !utf8.Valid(p.b[start:p.i]) {
				return false, p.errorf("invalid UTF-8 in string")
			}
			p.i++
			return escaped, nil
		case c == '\\':
			if err := p.checkEscape(); err != nil {
				return false, err
			}
			escaped = true
		case c < 0x20:
			return false, p.errorf("control character in string")
		default:
			high = true
			p.i++
		}
	}
	return false, p.eof()
}

// checkEscape validates the escape sequence at p.i and steps over it.
func (p *parser) checkEscape() error {
	if p.i+1 >= len(p.b) {
		return p.eof()
	}
	switch p.b[p.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		p.i += 2
		return nil
	case 'u':
		if p.i+6 > len(p.b) {
			return p.eof()
		}
		if _, ok := hex4(p.b[p.i+2 : p.i+6]); !ok {
			return p.errorf("invalid \\u escape")
		}
		p.i += 6
		return nil
	}
	return p.errorf("invalid escape")
}

// str consumes a JSON string (p.b[p.i] must be '"') and returns its decoded
// content, aliasing the body or, when it had escapes, r.scratch.
//
// Full slice expressions everywhere: a caller appending to a field must
// never write into the body or into the next unescaped string.
func (p *parser) str() ([]byte, error) {
	start := p.i + 1
	if j := quoteEnd(p.b, start); j >= 0 {
		p.i = j + 1
		return p.b[start:j:j], nil
	}
	return p.strSlow()
}

// strSlow is str for the strings quoteEnd leaves.
func (p *parser) strSlow() ([]byte, error) {
	start := p.i + 1
	escaped, err := p.rawStrSlow(true)
	if err != nil {
		return nil, err
	}
	raw := p.b[start : p.i-1 : p.i-1]
	if !escaped || p.st.nativeSub {
		// A native request decodes nothing (see nativeSub): its content
		// may itself be a decoded string in the scratch.
		return raw, nil
	}
	return p.unescape(raw), nil
}

// unescape appends the decoded form of the already validated raw string to
// r.scratch. Scratch is sized to the whole body before the first use, and a
// decoded string is never longer than its escaped form, so appending never
// reallocates and earlier aliases stay valid.
func (p *parser) unescape(raw []byte) []byte {
	r := p.r
	if len(r.scratch) == 0 && cap(r.scratch) < len(p.b) {
		r.scratch = make([]byte, 0, len(p.b))
	}
	if cap(r.scratch)-len(r.scratch) < len(raw) {
		panic("BUG: openrtb scratch buffer too small")
	}
	start := len(r.scratch)
	dst := r.scratch
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		var n int
		dst, n = appendEscape(dst, raw[i:])
		i += n
	}
	r.scratch = dst
	return dst[start:len(dst):len(dst)]
}

// appendEscape decodes the escape at the start of s (validated by
// checkEscape) and returns the bytes consumed.
func appendEscape(dst, s []byte) ([]byte, int) {
	switch s[1] {
	case 'b':
		return append(dst, '\b'), 2
	case 'f':
		return append(dst, '\f'), 2
	case 'n':
		return append(dst, '\n'), 2
	case 'r':
		return append(dst, '\r'), 2
	case 't':
		return append(dst, '\t'), 2
	case 'u':
		return appendUnicodeEscape(dst, s)
	}
	return append(dst, s[1]), 2
}

func appendUnicodeEscape(dst, s []byte) ([]byte, int) {
	r1, _ := hex4(s[2:6])
	if r1 >= 0xD800 && r1 < 0xDC00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if r2, ok := hex4(s[8:12]); ok && r2 >= 0xDC00 && r2 < 0xE000 {
			r := (r1-0xD800)<<10 | (r2 - 0xDC00) + 0x10000
			return utf8.AppendRune(dst, r), 12
		}
	}
	// utf8.AppendRune writes U+FFFD for a lone surrogate.
	return utf8.AppendRune(dst, r1), 6
}

func hex4(s []byte) (rune, bool) {
	var r rune
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipPlain returns the offset of the first byte at or after i that ends the
// fast path of string scanning ('"', '\\', a control character or a non-ASCII
// byte), testing eight bytes at a time. i must not be negative.
func skipPlain(b []byte, i int) int {
	if i < 0 {
		panic("BUG: skipPlain from a negative offset")
	}
	for ; i <= len(b)-8; i += 8 { // no bounds checks (see quoteEnd)
		if m := specialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && !strClass[b[i]] {
		i++
	}
	return i
}
