package openrtb

// Skipping values the view does not keep. Unknown objects and arrays are
// walked by one loop with an explicit stack instead of by recursion through
// nextKey and nextElem: it validates the same grammar, reports the same
// errors at the same offsets and honours MaxDepth, at a fraction of the
// calls.

// The skip stack keeps one bit per open level in a uint64.
const _ = uint(64 - MaxDepth)

// skip consumes any JSON value without allocating, honouring MaxDepth.
func (p *parser) skip() error {
	b, i := p.b, p.i
	c := at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	// The common values inline: a plain string, a plain integer.
	switch {
	case c == '"':
		if j := quoteEnd(b, i+1); j >= 0 {
			p.i = j + 1
			return nil
		}
		p.i = i
		return p.skipStr()
	case c == '{' || c == '[':
		p.i = i
		return p.skipNested()
	}
	if j := plainInt(b, i, c); j > i {
		p.i = j
		return nil
	}
	p.i = i
	return p.skipScalar(c)
}

// skipScalar consumes the number or literal that starts with c.
func (p *parser) skipScalar(c byte) error {
	switch {
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

// skipNested consumes the object or array at p.i. It is the hottest loop
// of the parser on real traffic (most of a request is skipped), so it is
// one function working on a local offset, with the common tokens inline.
// Every unusual byte is handed to the methods around it with p.i synced,
// so errors are the ones nextKey and nextElem report, at the same offsets.
func (p *parser) skipNested() error {
	b := p.b
	i := p.i
	var objs uint64 // bit k: the k-th innermost open level is an object
	n := 0          // levels this call opened
	key := false    // an object key comes before the next value
	var err error
	for {
		if key {
			// A plain key followed by ':' inline, anything else by skipKeyAt.
			key = false
			j := -1
			if at(b, i) == '"' {
				j = quoteEnd(b, i+1)
			}
			if j >= 0 && at(b, j+1) == ':' {
				i = j + 2
			} else if i, err = p.skipKeyAt(i); err != nil {
				return err
			}
		}
		// i is at the start of a value, possibly after white space:
		// pretty-printed JSON has one space after a key's ':'.
		c := at(b, i)
		if c <= ' ' {
			if c == ' ' && at(b, i+1) > ' ' {
				i++
			} else {
				i = skipWS(b, i)
			}
			c = at(b, i)
		}
		switch {
		case c == '{' || c == '[':
			if p.depth >= MaxDepth {
				p.i = i
				return p.errorf("nesting too deep")
			}
			p.depth++
			n++
			objs <<= 1
			if c == '{' {
				objs |= 1
			}
			if i++; at(b, i) <= ' ' {
				i = skipWS(b, i)
			}
			if !closes(at(b, i), objs) {
				key = objs&1 != 0
				continue
			}
			i++
			p.depth--
			n--
			objs >>= 1
		case c == '"':
			if j := quoteEnd(b, i+1); j >= 0 {
				i = j + 1
			} else if i, err = p.rawStrAt(i); err != nil {
				return err
			}
		default:
			if j := plainInt(b, i, c); j > i {
				i = j
			} else if i, err = p.skipScalarAt(i, c); err != nil {
				return err
			}
		}
		// A value ended: close levels until a ',' leads to the next value.
		for n > 0 {
			if c = at(b, i); c <= ' ' {
				i = skipWS(b, i)
				c = at(b, i)
			}
			if closes(c, objs) {
				i++
				p.depth--
				n--
				objs >>= 1
				continue
			}
			if c != ',' {
				return p.commaError(i, objs&1 != 0)
			}
			if i++; at(b, i) <= ' ' {
				i = skipWS(b, i)
			}
			if key = objs&1 != 0; !key {
				if c = at(b, i); c == ']' || c == 0 {
					p.i = i
					return p.unexpected("expected array element")
				}
			}
			break
		}
		if n == 0 {
			p.i = i
			return nil
		}
	}
}

// plainInt returns the offset after the plain positive integer at i, the
// common number, or i when c=b[i] starts anything else: the caller then
// takes the general path.
func plainInt(b []byte, i int, c byte) int {
	if c-'1' >= 9 {
		return i
	}
	j := i + 1
	for uint(j) < uint(len(b)) && b[j]-'0' < 10 { // no bounds checks
		j++
	}
	if uint(j) < uint(len(b)) && b[j] != '.' && b[j]|0x20 != 'e' {
		return j
	}
	return i
}

// closes reports whether c closes the innermost level of objs.
func closes(c byte, objs uint64) bool {
	return c == ']' && objs&1 == 0 || c == '}' && objs&1 != 0
}

// commaError reports the byte at i that is neither ',' nor the closing
// byte of the innermost level.
func (p *parser) commaError(i int, obj bool) error {
	p.i = i
	if obj {
		return p.unexpected("expected ',' or '}'")
	}
	return p.unexpected("expected ',' or ']'")
}

// skipKeyAt consumes the object key at i (white space skipped) and the ':'
// after it, and returns the offset after the ':'.
func (p *parser) skipKeyAt(i int) (int, error) {
	b := p.b
	if at(b, i) != '"' {
		p.i = i
		return i, p.unexpected("expected object key")
	}
	if j := quoteEnd(b, i+1); j >= 0 {
		i = j + 1
	} else {
		var err error
		if i, err = p.rawStrAt(i); err != nil {
			return i, err
		}
	}
	if at(b, i) <= ' ' {
		i = skipWS(b, i)
	}
	if at(b, i) != ':' {
		p.i = i
		return i, p.unexpected("expected ':'")
	}
	if i++; at(b, i) == ' ' {
		i++ // as in nextKey
	}
	return i, nil
}

// rawStrAt is skipStr for the string at i; it returns the offset after it.
func (p *parser) rawStrAt(i int) (int, error) {
	p.i = i
	err := p.skipStr()
	return p.i, err
}

// skipScalarAt consumes the number or literal at i that starts with c, and
// returns the offset after it.
func (p *parser) skipScalarAt(i int, c byte) (int, error) {
	b := p.b
	switch {
	case c == 't' && len(b)-i >= 4 && string(b[i:i+4]) == "true":
		return i + 4, nil
	case c == 'f' && len(b)-i >= 5 && string(b[i:i+5]) == "false":
		return i + 5, nil
	case c == 'n' && len(b)-i >= 4 && string(b[i:i+4]) == "null":
		return i + 4, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if n := numberLen(b[i:]); n > 0 {
			return i + n, nil
		}
	}
	// Malformed: let skipScalar report it.
	p.i = i
	err := p.skipScalar(c)
	return p.i, err
}
