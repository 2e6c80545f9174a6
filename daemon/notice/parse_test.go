package notice

import (
	"math"
	"testing"
)

func TestParsePrice(t *testing.T) {
	f := func(in string, want float64, wantOK bool) {
		t.Helper()
		got, ok := parsePrice([]byte(in))
		if ok != wantOK || (ok && got != want) {
			t.Fatalf("unexpected result for parsePrice(%q); got %v, %v; want %v, %v", in, got, ok, want, wantOK)
		}
	}
	f("0", 0, true)
	f("1.25", 1.25, true)
	f("000.5", 0.5, true)
	f("2e1", 20, true)
	f("1E-2", 0.01, true)
	f(".5", 0.5, true)
	f("", 0, false)
	f("-1", 0, false)
	f("-0.0001", 0, false)
	f("NaN", 0, false)
	f("nan", 0, false)
	f("Inf", 0, false)
	f("+Inf", 0, false)
	f("1e999", 0, false)
	f("0x1p-2", 0, false)
	f("abc", 0, false)
	f("1.2.3", 0, false)
	f("1,5", 0, false)
	f(" 1", 0, false)
	f("1_000", 0, false)
	f("123456789012345678901234567890123", 0, false) // longer than 32 bytes
	f("1e300", 1e300, true)
	f("99e306", 99e306, true)
	f("1e-400", 0, true)
	f("-0", 0, true)
	for _, bad := range []string{"1e", "1..5", "--1", "1e+", "e5", ".", "+", "1e1000", "1e308", "999e306", "1e5.5", "1-2", "1e--2", "1.5e"} {
		f(bad, 0, false)
	}
}

// TestParsePriceNoAlloc: no price, however malformed, allocates (the
// errors of strconv.ParseFloat would).
func TestParsePriceNoAlloc(t *testing.T) {
	for _, in := range []string{"1.25", "1e", "1..5", "--1", "1e999", "1e-400", "+", "9" + "99999999999999999999999999999", "99999999999999999999e300"} {
		b := []byte(in)
		if n := testing.AllocsPerRun(100, func() { parsePrice(b) }); n != 0 {
			t.Errorf("parsePrice(%q): %v allocations; want 0", in, n)
		}
	}
}

func TestParseUserKey(t *testing.T) {
	f := func(in []byte, want uint64, wantOK bool) {
		t.Helper()
		got, ok := parseUserKey(in)
		if ok != wantOK || got != want {
			t.Fatalf("unexpected result for parseUserKey(%q); got %#x, %v; want %#x, %v", in, got, ok, want, wantOK)
		}
	}
	f(nil, 0, true)
	f([]byte("0000000000000000"), 0, true)
	f([]byte("00000000000000ff"), 0xff, true)
	f([]byte("DEADBEEFcafef00d"), 0xdeadbeefcafef00d, true)
	f([]byte("ffffffffffffffff"), math.MaxUint64, true)
	f([]byte(""), 0, true)
	f([]byte("123"), 0, false)
	f([]byte("0000000000000000a"), 0, false)
	f([]byte("000000000000000g"), 0, false)
	f([]byte("-000000000000001"), 0, false)
}

func TestParseLoss(t *testing.T) {
	f := func(in string, want int, wantOK bool) {
		t.Helper()
		got, ok := parseLoss([]byte(in))
		if ok != wantOK || (ok && got != want) {
			t.Fatalf("unexpected result for parseLoss(%q); got %d, %v; want %d, %v", in, got, ok, want, wantOK)
		}
	}
	f("", -1, true)
	f("${AUCTION_LOSS}", -1, true)
	f("0", 0, true)
	f("102", 102, true)
	f("1001", 1001, true)
	f("99999", 99999, true)
	f("100000", 0, false)
	f("-1", 0, false)
	f("abc", 0, false)
	f("1.5", 0, false)
}

func TestIsMacro(t *testing.T) {
	f := func(in string, want bool) {
		t.Helper()
		if got := isMacro([]byte(in)); got != want {
			t.Fatalf("unexpected result for isMacro(%q); got %v; want %v", in, got, want)
		}
	}
	f("${AUCTION_PRICE}", true)
	f("${AUCTION_PRICE:B64}", true)
	f("1.5", false)
	f("$1", false)
	f("", false)
}

func TestKindString(t *testing.T) {
	f := func(k Kind, want string) {
		t.Helper()
		if got := k.String(); got != want {
			t.Fatalf("unexpected result for Kind(%d).String(); got %q; want %q", k, got, want)
		}
	}
	f(KindWin, "win")
	f(KindBill, "bill")
	f(KindLoss, "loss")
	f(numKinds, "unknown")
}
