package openrtb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestNumberLen(t *testing.T) {
	t.Parallel()
	f := func(s string, want int) {
		t.Helper()
		if got := numberLen([]byte(s)); got != want {
			t.Fatalf("unexpected numberLen(%q); got %d; want %d", s, got, want)
		}
	}
	f("0", 1)
	f("-0", 2)
	f("120,", 3)
	f("933.33}", 6)
	f("1e400", 5)
	f("-1.5E+3", 7)
	f("01", 1) // the caller then fails on the trailing "1"
	f("", 0)
	f("-", -1)
	f("1.", -2)
	f("1.e5", -2)
	f("1e", -2)
	f("1e+", -3)
	f("+1", 0)
	f(".5", 0)
	f("NaN", 0)
}

func TestParseInt(t *testing.T) {
	t.Parallel()
	f := func(s string, want int, wantOK bool) {
		t.Helper()
		got, ok := parseInt([]byte(s))
		if got != want || ok != wantOK {
			t.Fatalf("unexpected parseInt(%q); got %d, %v; want %d, %v", s, got, ok, want, wantOK)
		}
	}
	f("0", 0, true)
	f("-42", -42, true)
	f("999999999999999999", 999999999999999999, true)
	f("9999999999999999999", 0, false) // 19 digits: left to the float path
	f("1.5", 0, false)
	f("1e3", 0, false)
	f("-", 0, false)
}

func TestParseIntField(t *testing.T) {
	t.Parallel()
	f := func(v string, want int, wantErr bool) {
		t.Helper()
		var r Request
		err := r.Parse([]byte(`{"id":"a","imp":[{"id":"1"}],"tmax":` + v + `}`))
		if (err != nil) != wantErr || (err == nil && r.TMax != want) {
			t.Fatalf("unexpected tmax for %s; got %d, %v; want %d, error %v", v, r.TMax, err, want, wantErr)
		}
	}
	f(`120`, 120, false)
	f(`"120"`, 120, false)
	f(`" 120 "`, 120, false)
	f(`""`, 0, false)
	f(`null`, 0, false)
	f(`933.99`, 933, false)
	f(`-2`, -2, false)
	f(`1e2`, 100, false)
	f(`"1e2"`, 100, false)
	f(`true`, 1, false)
	f(`9223372036854775807`, 0, true)
	f(`99999999999999999999`, 0, true)
	f(`1e400`, 0, true)
	f(`"12a"`, 0, true)
	f(`"NaN"`, 0, true)
	f(`"Infinity"`, 0, true)
	f(`[]`, 0, true)
	f(`{}`, 0, true)
}

// TestShortDecimalMatchesStrconv checks the fast path of parseFloat against
// strconv.ParseFloat, bit for bit (signed zeros included), on fixed cases
// and on random decimals of 1 to 17 digits with the point anywhere.
func TestShortDecimalMatchesStrconv(t *testing.T) {
	t.Parallel()
	check := func(s string) {
		t.Helper()
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("strconv rejects %q: %v", s, err)
		}
		got, ok := shortDecimal([]byte(s))
		digits := strings.Count(s, "") - 1 - strings.Count(s, ".") - strings.Count(s, "-")
		if wantOK := digits <= 15 && !strings.ContainsAny(s, "eE"); ok != wantOK {
			t.Fatalf("shortDecimal(%q) ok %v; want %v", s, ok, wantOK)
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("shortDecimal(%q) = %v (%#x); strconv gives %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	for _, s := range []string{"0", "-0", "0.0", "-0.0", "0.5", "1.25", "12.34", "-3", "0.1", "0.3",
		"9.999999999999999", "999999999999999", "0.000000000000001", "123456789012345",
		"1234567890123456", "0.1234567890123456", "1e3", "1.5E-2", "-2.5e+1"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 24)
	for range 200000 {
		n := 1 + rng.IntN(17)
		buf = buf[:0]
		if rng.IntN(4) == 0 {
			buf = append(buf, '-')
		}
		point := rng.IntN(n + 1) // digits before the point; n: no point
		for i := range n {
			if i == point && i > 0 {
				buf = append(buf, '.')
			}
			d := byte('0' + rng.IntN(10))
			if i == 0 && point != 1 {
				d = byte('1' + rng.IntN(9)) // no leading zero but "0.x"
			}
			buf = append(buf, d)
		}
		check(string(buf))
	}
}

// TestPlainDecimal checks float, whose common case is plainDecimal, against
// numText and parseFloat for every string of up to six bytes of a number's
// alphabet, then with ',' and at the end of input.
func TestPlainDecimal(t *testing.T) {
	t.Parallel()
	alphabet := []byte("019.e-+,")
	ref := func(p *parser) (float64, error) {
		tok, ok, err := p.numText()
		if !ok || err != nil {
			return 0, err
		}
		return p.parseFloat(tok)
	}
	check := func(s []byte) {
		p := parser{b: s}
		q := parser{b: s}
		f, err := p.float()
		wantF, wantErr := ref(&q)
		if math.Float64bits(f) != math.Float64bits(wantF) || p.i != q.i || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("float(%q) = %v, %v at %d; want %v, %v at %d", s, f, err, p.i, wantF, wantErr, q.i)
		}
	}
	var gen func(s []byte)
	gen = func(s []byte) {
		check(s)
		check(append(s[:len(s):len(s)], ','))
		if len(s) == 6 {
			return
		}
		for _, c := range alphabet {
			gen(append(s[:len(s):len(s)], c))
		}
	}
	gen(nil)
	for _, s := range []string{"123456789012345,", "1234567890123456,", "0.123456789012345,", "12345678.9012345,", "6.51,", "0.5}", "100]"} {
		check([]byte(s))
	}
}

// TestIntFromFloatBounds: an integer sent as a float is read up to the
// ends of int64, both included where a float can hold them: -2^63 fits,
// 2^63 does not (it used to refuse -2^63 too).
func TestIntFromFloatBounds(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int{
		"-9223372036854775808.0":   math.MinInt64,
		"-9.223372036854775808e18": math.MinInt64,
		"9.2233720368547748e18":    9223372036854774784, // the largest float below 2^63
	} {
		p := parser{b: []byte(body), r: &Request{}}
		if got, err := p.int(); err != nil || got != want {
			t.Errorf("int of %s = %d, %v; want %d", body, got, err, want)
		}
	}
	for _, body := range []string{"9223372036854775808.0", "9.3e18", "-9.3e18"} {
		p := parser{b: []byte(body), r: &Request{}}
		if got, err := p.int(); err == nil {
			t.Errorf("int of %s = %d; want an out-of-range error", body, got)
		}
	}
}
