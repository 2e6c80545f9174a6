package openrtb

import (
	"encoding/binary"
	"unicode/utf8"
)

// parser is the single-pass JSON scanner behind [Request.Parse]. It lives on
// the caller's stack; strings alias b or r.scratch.
type parser struct {
	b     []byte
	i     int
	depth int
	r     *Request

	// Bookkeeping for fields the view does not keep: whether device.geo
	// was seen (user.geo is its fallback), the current imp, banner.format
	// entry and imp.metric entry.
	deviceGeo  bool
	st         impState
	fmt        formatState
	metricType bool
}

// errorf returns a *ParseError at the current offset. Error paths are rare,
// so the allocation here is acceptable.
func (p *parser) errorf(msg string) error {
	return &ParseError{Msg: msg, Offset: p.i}
}

func (p *parser) eof() error { return p.errorf("unexpected end of input") }

// ws skips white space and returns the next byte, or 0 at the end of input.
func (p *parser) ws() byte {
	for i := p.i; i < len(p.b); i++ {
		// Fast path first: outside white space, JSON is made of bytes
		// above ' '; control characters stop here and fail the caller.
		if c := p.b[i]; c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			p.i = i
			return c
		}
	}
	p.i = len(p.b)
	return 0
}

// null consumes a JSON null if one is next and reports whether it did.
func (p *parser) null() bool {
	if p.ws() == 'n' && len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// enter consumes the opening byte open ('{' or '['), checking the depth
// limit before the caller recurses.
func (p *parser) enter(open byte, what string) error {
	if c := p.ws(); c != open {
		return p.unexpected(what)
	}
	if p.depth >= MaxDepth {
		return p.errorf("nesting too deep")
	}
	p.depth++
	p.i++
	return nil
}

// nextKey advances to the next key of an object entered with enter. It
// returns more=false after consuming the closing '}'. The key aliases the
// body unless it contained escapes.
func (p *parser) nextKey(first bool) (key []byte, more bool, err error) {
	c := p.ws()
	if c == '}' {
		p.i++
		p.depth--
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, p.unexpected("expected ',' or '}'")
		}
		p.i++
		c = p.ws()
	}
	if c != '"' {
		return nil, false, p.unexpected("expected object key")
	}
	key, err = p.str()
	if err != nil {
		return nil, false, err
	}
	if p.ws() != ':' {
		return nil, false, p.unexpected("expected ':'")
	}
	p.i++
	return key, true, nil
}

// nextElem advances to the next element of an array entered with enter. It
// returns false after consuming the closing ']'.
func (p *parser) nextElem(first bool) (bool, error) {
	c := p.ws()
	if c == ']' {
		p.i++
		p.depth--
		return false, nil
	}
	if first {
		return true, nil
	}
	if c != ',' {
		return false, p.unexpected("expected ',' or ']'")
	}
	p.i++
	if c = p.ws(); c == ']' || c == 0 {
		return false, p.unexpected("expected array element")
	}
	return true, nil
}

// unexpected reports msg, or the end of input when that is what was found.
// ws returns 0 at the end, so the offset tells a NUL byte from the end.
func (p *parser) unexpected(msg string) error {
	if p.i >= len(p.b) {
		return p.eof()
	}
	return p.errorf(msg)
}

// skip consumes any JSON value without allocating, honouring MaxDepth.
func (p *parser) skip() error {
	switch c := p.ws(); {
	case c == '"':
		_, err := p.rawStr()
		return err
	case c == '{':
		return p.skipObject()
	case c == '[':
		return p.skipArray()
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.number()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.unexpected("unexpected character")
	}
}

func (p *parser) skipObject() error {
	if err := p.enter('{', "expected object"); err != nil {
		return err
	}
	for first := true; ; first = false {
		_, more, err := p.nextKey(first)
		if err != nil || !more {
			return err
		}
		if err := p.skip(); err != nil {
			return err
		}
	}
}

func (p *parser) skipArray() error {
	if err := p.enter('[', "expected array"); err != nil {
		return err
	}
	for first := true; ; first = false {
		more, err := p.nextElem(first)
		if err != nil || !more {
			return err
		}
		if err := p.skip(); err != nil {
			return err
		}
	}
}

func (p *parser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) {
		return p.eof()
	}
	if string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.errorf("invalid literal")
	}
	p.i += len(lit)
	return nil
}

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

// rawStr consumes a JSON string and returns its raw content (escapes not
// decoded) and whether it contained escapes. It validates escapes, control
// characters and UTF-8.
func (p *parser) rawStr() (escaped bool, err error) {
	p.i++ // opening quote
	start, high := p.i, false
	for p.i < len(p.b) {
		p.i = skipPlain(p.b, p.i)
		if p.i >= len(p.b) {
			break
		}
		c := p.b[p.i]
		if !strClass[c] {
			p.i++
			continue
		}
		switch {
		case c == '"':
			if high && !utf8.Valid(p.b[start:p.i]) {
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
func (p *parser) str() ([]byte, error) {
	start := p.i + 1
	escaped, err := p.rawStr()
	if err != nil {
		return nil, err
	}
	// Full slice expressions everywhere: a caller appending to a field must
	// never write into the body or into the next unescaped string.
	raw := p.b[start : p.i-1 : p.i-1]
	if !escaped {
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

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skipPlain returns the offset of the first byte at or after i that ends the
// fast path of string scanning ('"', '\\', a control character or a non-ASCII
// byte), testing eight bytes at a time.
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (lsb * '"')
		bs := x ^ (lsb * '\\')
		// A byte is flagged when it is zero after the xor (quote or
		// backslash), below 0x20, or has its high bit set.
		special := ((q - lsb) &^ q) | ((bs - lsb) &^ bs) | (x - lsb*0x20) | x
		if special&msb != 0 {
			break
		}
	}
	for i < len(b) && !strClass[b[i]] {
		i++
	}
	return i
}
