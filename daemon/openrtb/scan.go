package openrtb

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"unsafe"
)

// parser is the single-pass JSON scanner behind [Request.Parse]. It lives on
// the caller's stack; strings alias b or r.scratch.
type parser struct {
	b     []byte
	i     int
	depth int
	r     *Request

	// Bookkeeping for fields the view does not keep: user.geo, read
	// apart (inUserGeo) and taken where device.geo says nothing (see
	// mergeUserGeo), the current imp, banner.format entry and imp.metric
	// entry.
	userGeo    Geo
	inUserGeo  bool
	imp        *Imp // &r.Imps[len(r.Imps)-1] while an imp is read (see cur)
	st         impState
	fmt        formatState
	metricType bool
	// durfloors being read (see durFloors) and its current entry.
	df    []DurFloor
	dfCur DurFloor
	// usedImps is how many of r.Imps' slots this parse has written: Parse
	// starts from a reset Request, so only those (an "imp" key seen twice)
	// need clearing again.
	usedImps int
}

// errorf returns a *ParseError at the current offset. Error paths are rare,
// so the allocation here is acceptable.
func (p *parser) errorf(msg string) error {
	if p.st.nativeSub {
		return errNativeRequest // see nativeRequest
	}
	return &ParseError{Msg: msg, Offset: p.i}
}

// errNativeRequest is the error of a native request that a string held:
// the request is read on without it.
var errNativeRequest = errors.New("unreadable native request")

func (p *parser) eof() error { return p.errorf("unexpected end of input") }

// tooMany is the error of a list longer than this parser keeps (see
// ParseError.Limit).
func (p *parser) tooMany(what string) error {
	if p.st.nativeSub {
		return errNativeRequest
	}
	return &ParseError{Msg: "too many " + what, Offset: p.i, Limit: true}
}

// ws skips white space and returns the next byte, or 0 at the end of input.
// The common case, no white space at all (compact JSON), stays inline.
//
// Its shape keeps it under the inlining budget; measure before changing it.
func (p *parser) ws() (c byte) {
	if p.i < len(p.b) {
		c = p.b[p.i]
	}
	if c > ' ' {
		return c
	}
	return p.wsSlow()
}

// wsSlow is the out-of-line part of ws.
func (p *parser) wsSlow() byte {
	b := p.b
	i := skipWS(b, p.i)
	p.i = i
	return at(b, i)
}

// skipWS returns the offset of the first byte at or after i that is not
// white space, or len(b). Pretty-printed JSON puts a newline and a run of
// spaces between tokens: the newline is stepped over and the spaces are
// skipped eight at a time.
func skipWS(b []byte, i int) int {
	if uint(i) < uint(len(b)) && b[i] == '\n' {
		i++
	}
	for i >= 0 && i <= len(b)-8 { // no bounds checks (see quoteEnd)
		// Spaces xor to zero bytes, so the lowest set bit is in the
		// first byte that is not a space.
		m := binary.LittleEndian.Uint64(b[i:]) ^ (lsb * ' ')
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) >> 3
		if !isWS(b[i]) {
			return i
		}
		i++
	}
	for ; i < len(b); i++ {
		if !isWS(b[i]) {
			// Control characters stop here too and fail the caller.
			return i
		}
	}
	return len(b)
}

// keyAt returns b[i:j] as a string for the switches of the field
// functions, without a copy or bounds checks: quoteEnd found j < len(b),
// and i <= j. The body is not modified while it is parsed, and the key is
// not kept after its switch.
func keyAt(b []byte, i, j int) string {
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i)), j-i)
}

// indentEnd returns the offset of the first byte at or after i that is
// not a space, eight bytes at a time, or -1 when there are fewer than eight
// bytes left to test: skipWS for the indentation of pretty-printed JSON,
// without a call.
func indentEnd(b []byte, i int) int {
	if i < 0 {
		return -1
	}
	for ; i <= len(b)-8; i += 8 { // no bounds checks (see quoteEnd)
		if m := binary.LittleEndian.Uint64(b[i:]) ^ (lsb * ' '); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return -1
}

func isWS(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// at returns b[i], or 0 at or beyond the end of b.
//
// The end is the early return: the compiler lays out the load as the
// path that falls through, where with the load in the if's body every
// in-range read took a jump over the zero (some 500 instructions a
// request).
func at(b []byte, i int) byte {
	// The unsigned comparison also proves i >= 0: no bounds check.
	if uint(i) >= uint(len(b)) {
		return 0
	}
	return b[i]
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
// returns more=false after consuming the closing '}', and with any error:
// the loops over keys test more alone. The key is a string
// that aliases the body (or, with escapes, r.scratch), for the switches of
// the field functions: valid while the body is, and never kept.
//
// It works on a local offset and stores p.i once: the offset is the one
// dependency chain through the whole parse, and a store and reload of p.i
// per step would lengthen it.
func (p *parser) nextKey(first bool) (key string, more bool, err error) {
	b, i := p.b, p.i
	// The fast path: the ',' (unless first), in pretty-printed JSON a
	// newline and the indentation, a plain key and ':'. It calls nothing,
	// so that nothing is spilled for it; anything else takes the general
	// path below from i.
	k := i
	if !first {
		switch at(b, k) {
		case ',':
			k++
		case '}':
			p.i = i + 1
			p.depth--
			return "", false, nil
		default:
			k = -1
		}
	}
	c := at(b, k)
	if c == '\n' {
		k = indentEnd(b, k+1)
		c = at(b, k)
	}
	if c == '"' {
		if k >= 0 && k <= len(b)-16 {
			// A key of at most seven plain bytes, in a window of the
			// body whose bounds the condition proves.
			w := (*[16]byte)(b[k:])
			if m := specialMask(binary.LittleEndian.Uint64(w[1:9])); m != 0 {
				n := bits.TrailingZeros64(m) >> 3
				if w[1+n] == '"' && w[2+n] == ':' {
					e := k + 3 + n
					if w[3+n] == ' ' {
						e++
					}
					p.i = e
					return keyAt(b, k+1, k+1+n), true, nil
				}
			}
		}
		if j := quoteEnd(b, k+1); j >= 0 && at(b, j+1) == ':' {
			if i = j + 2; at(b, i) == ' ' {
				i++
			}
			p.i = i
			return keyAt(b, k+1, j), true, nil
		}
	}
	c = at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	if c == '}' {
		p.i = i + 1
		p.depth--
		return "", false, nil
	}
	if !first {
		if c != ',' {
			p.i = i
			return "", false, p.unexpected("expected ',' or '}'")
		}
		if i++; at(b, i) <= ' ' {
			i = skipWS(b, i)
		}
		c = at(b, i)
	}
	if c != '"' {
		p.i = i
		return "", false, p.unexpected("expected object key")
	}
	// str, with its fast path inlined: keys are short and plain.
	if j := quoteEnd(b, i+1); j >= 0 {
		key = keyAt(b, i+1, j)
		i = j + 1
	} else {
		p.i = i
		s, err := p.strSlow()
		if err != nil {
			return "", false, err
		}
		key = unsafe.String(unsafe.SliceData(s), len(s)) // in the scratch
		i = p.i
	}
	if at(b, i) <= ' ' {
		i = skipWS(b, i)
	}
	if at(b, i) != ':' {
		p.i = i
		return "", false, p.unexpected("expected ':'")
	}
	// Pretty-printed JSON has one space after ':'; stepping over it here
	// keeps the value's ws on its inline path.
	if i++; at(b, i) == ' ' {
		i++
	}
	p.i = i
	return key, true, nil
}

// nextElem advances to the next element of an array entered with enter. It
// returns false after consuming the closing ']', and with any error (as
// nextKey).
func (p *parser) nextElem(first bool) (bool, error) {
	b, i := p.b, p.i
	c := at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	if c == ']' {
		p.i = i + 1
		p.depth--
		return false, nil
	}
	if first {
		p.i = i
		return true, nil
	}
	if c != ',' {
		p.i = i
		return false, p.unexpected("expected ',' or ']'")
	}
	if i++; at(b, i) <= ' ' {
		i = skipWS(b, i)
	}
	p.i = i
	if c = at(b, i); c == ']' || c == 0 {
		return false, p.unexpected("expected array element")
	}
	return true, nil
}

// open consumes the opening byte open ('{' or '[') of a container, or a
// null for an absent one (present=false). It checks the depth limit before
// the caller recurses, and reports what when neither is next.
func (p *parser) open(open byte, what string) (present bool, err error) {
	if p.ws() != open {
		if p.null() {
			return false, nil
		}
		return false, p.unexpected(what)
	}
	if p.depth >= MaxDepth {
		return false, p.errorf("nesting too deep")
	}
	p.depth++
	p.i++
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
