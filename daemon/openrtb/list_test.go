package openrtb

import (
	"fmt"
	"testing"
)

// refTexts is texts without its inline path for a list of one string.
func refTexts(p *parser, dst [][]byte, what string) ([][]byte, error) {
	clear(dst)
	dst = dst[:0]
	switch p.ws() {
	case 'n':
		return dst, p.literal("null")
	case '"':
		s, err := p.str()
		return append(dst, s), err
	}
	if err := p.enter('[', "expected array of strings"); err != nil {
		return dst, err
	}
	for first := true; ; first = false {
		more, err := p.nextElem(first)
		if err != nil || !more {
			return dst, err
		}
		if len(dst) >= maxTexts {
			return dst, p.tooMany(what)
		}
		s, err := p.text()
		if err != nil {
			return dst, err
		}
		if s != nil {
			dst = append(dst, s)
		}
	}
}

// TestTextsOne checks texts against refTexts for lists of one string and
// their near misses, compact and pretty-printed, cut at every byte and at
// the depth limit.
func TestTextsOne(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`["USD"]`, `[""]`, `["video/mp4"]`, `["a long string of more than eight bytes"]`,
		`["a\"b"]`, `["caf\u00e9"]`, "[\"caf\xc3\xa9\"]", "[\"\xff\"]", "[\"a\x01\"]",
		`["a","b"]`, `["a",]`, `["a"`, `[1]`, `[null]`, `[]`, `[ "a" ]`, `["a" ]`,
		"[\n  \"USD\"\n]", "[\n          \"USD\"\n        ]", "[\n  \"a\",\n  \"b\"\n]", "[\n\t\"a\"\n]", "[\r\n \"a\"\r\n]",
	} {
		s += `,"x":1}` + "          "
		for end := 0; end <= len(s); end++ {
			for _, depth := range []int{1, MaxDepth - 1, MaxDepth} {
				p := parser{b: []byte(s[:end]), depth: depth, r: new(Request)}
				q := parser{b: []byte(s[:end]), depth: depth, r: new(Request)}
				got, err := p.texts(nil, "x")
				want, wantErr := refTexts(&q, nil, "x")
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || fmt.Sprint(err) != fmt.Sprint(wantErr) || p.i != q.i || p.depth != q.depth {
					t.Fatalf("texts(%q) at depth %d = %q, %v at %d; want %q, %v at %d", s[:end], depth, got, err, p.i, want, wantErr, q.i)
				}
			}
		}
	}
}

// refInts is ints without its inline path for lists of small integers.
func refInts(p *parser, dst []int, what string) ([]int, error) {
	dst = dst[:0]
	if p.null() {
		return dst, nil
	}
	if err := p.enter('[', "expected array of numbers"); err != nil {
		return dst, err
	}
	for first := true; ; first = false {
		more, err := p.nextElem(first)
		if err != nil || !more {
			return dst, err
		}
		if len(dst) >= maxInts {
			return dst, p.tooMany(what)
		}
		v, err := p.int()
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
}

// TestIntsList checks ints against refInts for lists of integers and their
// near misses, compact and pretty-printed, cut at every byte, at and below
// MaxDepth and around maxInts.
func TestIntsList(t *testing.T) {
	t.Parallel()
	long := func(n int) string {
		s := "["
		for k := range n {
			if k > 0 {
				s += ","
			}
			s += fmt.Sprint(k % 10)
		}
		return s + "]"
	}
	for _, s := range []string{
		`[7,8]`, `[15]`, `[1,2,3]`, `[0]`, `[01]`, `[10,200,3000,40000]`, `[9999]`, `[99999]`, `[1.5]`, `[1e2]`,
		`[-1]`, `["2"]`, `[1,]`, `[,1]`, `[]`, `[1`, `[1 ]`, `[ 1]`, `[1,null]`, `[true]`, `null`, `7`,
		"[\n  7,\n  8\n]", "[\n          15\n        ]", "[\n  7 ,\n  8\n]", "[\n\t7\n]", "[\r\n 7\r\n]", "[\n  7,\n]",
		long(maxInts), long(maxInts + 1),
	} {
		s += `,"x":1}` + "          "
		for end := 0; end <= len(s); end++ {
			for _, depth := range []int{1, MaxDepth - 1, MaxDepth} {
				p := parser{b: []byte(s[:end]), depth: depth}
				q := parser{b: []byte(s[:end]), depth: depth}
				got, err := p.ints(nil, "x")
				want, wantErr := refInts(&q, nil, "x")
				if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(err) != fmt.Sprint(wantErr) || p.i != q.i || p.depth != q.depth {
					t.Fatalf("ints(%.40q) at depth %d = %v, %v at %d; want %v, %v at %d", s[:end], depth, got, err, p.i, want, wantErr, q.i)
				}
			}
		}
	}
}
