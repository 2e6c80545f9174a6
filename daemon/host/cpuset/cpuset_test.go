package cpuset

import (
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	t.Parallel()
	f := func(in, want string, wantLen int) {
		t.Helper()
		s, err := ParseCPUList(in)
		if err != nil {
			t.Fatalf("unexpected error for ParseCPUList(%q): %s", in, err)
		}
		if got := s.String(); got != want {
			t.Fatalf("unexpected result for ParseCPUList(%q); got %q; want %q", in, got, want)
		}
		if s.Len() != wantLen {
			t.Fatalf("unexpected Len for ParseCPUList(%q); got %d; want %d", in, s.Len(), wantLen)
		}
	}
	f("", "", 0)
	f("\n", "", 0)
	f("0", "0", 1)
	f("0-3,8,10-11", "0-3,8,10-11", 7)
	f("0-3,8,10-11\n", "0-3,8,10-11", 7)
	f("3,2,1,0", "0-3", 4)
	f("0,2,4", "0,2,4", 3)
	f("0-1,1-2", "0-2", 3)
	f("5-5", "5", 1)
	f("63-64", "63-64", 2)
	f("0,127,128", "0,127-128", 3)
	f("8191", "8191", 1)
	f("0-8191", "0-8191", 8192)
}

func TestParseCPUListError(t *testing.T) {
	t.Parallel()
	f := func(in, wantSub string) {
		t.Helper()
		s, err := ParseCPUList(in)
		if err == nil {
			t.Fatalf("expecting error for ParseCPUList(%q); got %q", in, s)
		}
		if !strings.Contains(err.Error(), wantSub) {
			t.Fatalf("unexpected error for ParseCPUList(%q); got %q; want it to contain %q", in, err, wantSub)
		}
	}
	f(",", "empty element")
	f("1,,2", "empty element")
	f("1,", "empty element")
	f("-1", "missing CPU number")
	f("1-", "missing CPU number")
	f("3-1", "descending range")
	f("a", `invalid CPU number "a"`)
	f("1 2", "invalid CPU number")
	f("0x3", "invalid CPU number")
	f("+1", "invalid CPU number")
	f("1-2-3", "invalid CPU number")
	f("8192", "out of range")
	f("0-99999999999999999999", "out of range")
	f("0-15:2", "invalid CPU number")
}

func TestMask(t *testing.T) {
	t.Parallel()
	f := func(list string, nbits int, want string) {
		t.Helper()
		s := MustParseCPUList(list)
		if got := s.MaskWidth(nbits); got != want {
			t.Fatalf("unexpected MaskWidth(%d) for %q; got %q; want %q", nbits, list, got, want)
		}
		back, err := ParseMask(want)
		if err != nil {
			t.Fatalf("cannot parse mask %q: %s", want, err)
		}
		if !back.Equal(s) {
			t.Fatalf("mask %q round-trips to %q; want %q", want, back, s)
		}
	}
	f("", 0, "0")
	f("0", 0, "1")
	f("0-3", 0, "f")
	f("0-7", 0, "ff")
	f("4", 0, "10")
	f("0-31", 0, "ffffffff")
	f("32", 0, "1,00000000")
	f("0-39", 0, "ff,ffffffff")
	f("2-3,6", 16, "004c")
	f("0-1", 2, "3")
	f("0-3", 40, "00,0000000f")
	f("0,64", 0, "1,00000000,00000001")
	f("63", 96, "00000000,80000000,00000000")
}

func TestParseMask(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		s, err := ParseMask(in)
		if err != nil {
			t.Fatalf("unexpected error for ParseMask(%q): %s", in, err)
		}
		if got := s.String(); got != want {
			t.Fatalf("unexpected result for ParseMask(%q); got %q; want %q", in, got, want)
		}
	}
	f("0", "")
	f("00000000,00000000\n", "")
	f("ffff\n", "0-15")
	f("0xF", "0-3")
	f("ff,ffffffff", "0-39")
	f("1,0", "32")
	f("c", "2-3")
	f("80000000,00000000", "63")
}

func TestParseMaskError(t *testing.T) {
	t.Parallel()
	f := func(in string) {
		t.Helper()
		if s, err := ParseMask(in); err == nil {
			t.Fatalf("expecting error for ParseMask(%q); got %q", in, s)
		}
	}
	f("")
	f("\n")
	f("g")
	f("ff,")
	f(",ff")
	f("123456789")
	f("-1")
	f("0-3")
	f(strings.Repeat("ffffffff,", 256) + "f")
}

func TestSetOps(t *testing.T) {
	t.Parallel()
	f := func(op, a, b, want string) {
		t.Helper()
		x, y := MustParseCPUList(a), MustParseCPUList(b)
		var got CPUSet
		switch op {
		case "union":
			got = x.Union(y)
		case "intersect":
			got = x.Intersect(y)
		case "difference":
			got = x.Difference(y)
		case "complement":
			got = x.Complement(y)
		default:
			panic("BUG: unknown op " + op)
		}
		if !got.Equal(MustParseCPUList(want)) {
			t.Fatalf("unexpected %s(%q, %q); got %q; want %q", op, a, b, got, want)
		}
	}
	f("union", "0-1", "8", "0-1,8")
	f("union", "", "100", "100")
	f("intersect", "0-15", "2-3,20", "2-3")
	f("intersect", "0-63", "64-70", "")
	f("difference", "0-15", "2-15", "0-1")
	f("difference", "0-70", "64-70", "0-63")
	f("complement", "2-3", "0-7", "0-1,4-7")
	f("complement", "", "0-3", "0-3")
	f("complement", "0-3", "0-3", "")
}

func TestPredicates(t *testing.T) {
	t.Parallel()
	s := MustParseCPUList("2-3,100")
	if !s.Has(100) || s.Has(4) || s.Has(-1) || s.Has(1000) {
		t.Fatalf("unexpected Has results for %q", s)
	}
	if s.Max() != 100 || (CPUSet{}).Max() != -1 {
		t.Fatalf("unexpected Max: %d", s.Max())
	}
	if !Of(2).IsSubsetOf(s) || Of(4).IsSubsetOf(s) || !(CPUSet{}).IsSubsetOf(s) {
		t.Fatalf("unexpected IsSubsetOf results for %q", s)
	}
	if !s.Intersects(Range(90, 110)) || s.Intersects(Range(4, 99)) {
		t.Fatalf("unexpected Intersects results for %q", s)
	}
	if !Range(0, 3).Equal(Of(3, 2, 1, 0)) || !Range(5, 4).IsEmpty() {
		t.Fatalf("unexpected Range results")
	}
	if s.Equal(Of(2, 3)) {
		t.Fatalf("%q must not equal 2-3", s)
	}
}
