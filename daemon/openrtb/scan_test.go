package openrtb

import (
	"bytes"
	"fmt"
	"testing"
)

// refNextKey is nextKey without its compact path: the general scanner
// whose results the compact path must reproduce.
func refNextKey(p *parser, first bool) (key []byte, more bool, err error) {
	b, i := p.b, p.i
	c := at(b, i)
	if c <= ' ' {
		i = skipWS(b, i)
		c = at(b, i)
	}
	if c == '}' {
		p.i = i + 1
		p.depth--
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			p.i = i
			return nil, false, p.unexpected("expected ',' or '}'")
		}
		if i++; at(b, i) <= ' ' {
			i = skipWS(b, i)
		}
		c = at(b, i)
	}
	if c != '"' {
		p.i = i
		return nil, false, p.unexpected("expected object key")
	}
	p.i = i
	if key, err = p.str(); err != nil {
		return nil, false, err
	}
	i = p.i
	if at(b, i) <= ' ' {
		i = skipWS(b, i)
	}
	if at(b, i) != ':' {
		p.i = i
		return nil, false, p.unexpected("expected ':'")
	}
	if i++; at(b, i) == ' ' {
		i++
	}
	p.i = i
	return key, true, nil
}

// TestNextKey checks nextKey against refNextKey for keys of every length
// around the eight bytes of a word, plain, escaped, non-ASCII or broken,
// compact or spaced, with the input cut at every byte.
func TestNextKey(t *testing.T) {
	t.Parallel()
	keys := []string{``, `a`, `id`, `w\"`, `\u00e9t`, "caf\xc3\xa9", "\xff", "a\x01"}
	for n := 1; n <= 12; n++ {
		keys = append(keys, string(bytes.Repeat([]byte{'k'}, n)))
	}
	for _, key := range keys {
		for _, form := range []string{`,"%s":1}`, `"%s":1}`, `,"%s": 1}`, `, "%s" : 1}`, `,"%s"1}`, `}`, ` }`, `,}`, `x"%s":1}`,
			",\n  \"%s\": 1}", "\n  \"%s\": 1}", ",\n          \"%s\": 1}", "\n }", "\n          }", ",\n }", "\n\t\"%s\": 1}", "\r\n \"%s\":1}"} {
			s := fmt.Sprintf(form, key) + `          `
			for end := 0; end <= len(s); end++ {
				for _, first := range []bool{false, true} {
					p := parser{b: []byte(s[:end]), depth: 1, r: new(Request)}
					q := parser{b: []byte(s[:end]), depth: 1, r: new(Request)}
					k, more, err := p.nextKey(first)
					wantK, wantMore, wantErr := refNextKey(&q, first)
					if k != string(wantK) || more != wantMore || fmt.Sprint(err) != fmt.Sprint(wantErr) || p.i != q.i || p.depth != q.depth {
						t.Fatalf("nextKey(%q, first=%v) = %q, %v, %v at %d; want %q, %v, %v at %d",
							s[:end], first, k, more, err, p.i, wantK, wantMore, wantErr, q.i)
					}
				}
			}
		}
	}
}

// TestNextErrorEndsLoop: nextKey and nextElem return more=false with
// every error, as the loops over keys and elements, which test more
// alone, rely on.
func TestNextErrorEndsLoop(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"a":1 "b":2}`, `{"a":1,}`, `{"a":1,,}`, `{1:2}`, `{"a" 1}`, `{"a"}`, `{"a":1,"b`, `{"a\x01":1}`,
		`{"a":1,` + "\n" + `  "b"`, `{"a":1` + "\n" + `  x}`, `{"long key here":1 x}`, `{"a":1,"b\q":2}`, `{`,
	} {
		p := parser{b: []byte(in), r: &Request{}}
		if err := p.enter('{', "object"); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		var err error
		for first, more := true, true; ; first = false {
			if _, more, err = p.nextKey(first); err != nil || !more {
				if more {
					t.Fatalf("nextKey on %q: more with %v", in, err)
				}
				break
			}
			if err = p.skip(); err != nil {
				break
			}
		}
		if err == nil {
			t.Fatalf("%q: no error", in)
		}
	}
	for _, in := range []string{`[1 2]`, `[1,]`, `[1,,2]`, `[1`, `[1,` + "\n" + ` ]`, `[1;2]`} {
		p := parser{b: []byte(in), r: &Request{}}
		if err := p.enter('[', "array"); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		var err error
		for first, more := true, true; ; first = false {
			if more, err = p.nextElem(first); err != nil || !more {
				if more {
					t.Fatalf("nextElem on %q: more with %v", in, err)
				}
				break
			}
			if err = p.skip(); err != nil {
				break
			}
		}
		if err == nil {
			t.Fatalf("%q: no error", in)
		}
	}
}
