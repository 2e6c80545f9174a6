package openrtb

import "testing"

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
