package decision

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCurrencyChange: a book in another currency than the spend counted
// so far is refused, the current one serving on, and so is a state file
// in another currency than the book; a book without spend may change it.
// Before, a book restating 100 USD as 15,000 JPY found its 100 USD spent
// counted as 100 JPY and bid again (the money audit).
func TestCurrencyChange(t *testing.T) {
	usd := testFile(bannerCampaign("c1", 10))
	jpy := testFile(bannerCampaign("c1", 10))
	jpy.Currency = "JPY"
	opts := testOptions
	opts.Rates = map[string]float64{"JPY": 150}
	st := NewState(0)
	if _, err := Compile(jpy, nil, st, opts); err != nil { // no spend yet: any currency
		t.Fatal(err)
	}
	s, err := Compile(usd, nil, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	bill(t, st, "c1", 0, 1, testNow)
	if _, err := Compile(jpy, nil, st, opts); !errors.Is(err, ErrCurrencyChanged) || !strings.Contains(err.Error(), "restate the budgets in USD") {
		t.Fatalf("JPY book over USD spend: %v; want ErrCurrencyChanged", err)
	}
	if got := s.CampaignStatus(0, testNow).SpendTotal; got != 1 {
		t.Fatalf("after the refused book: %v spent; want 1 USD", got)
	}
	saved := st.AppendCurrency(nil)
	if string(saved) != "USD" {
		t.Fatalf("AppendCurrency: %q", saved)
	}
	restarted := NewState(0)
	if _, err := Compile(jpy, nil, restarted, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.RestoreCurrency(saved); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.RestoreSpend(st.AppendSpend(nil)); !errors.Is(err, ErrCurrencyChanged) {
		t.Fatalf("a USD state file's spend under a JPY book: %v; want ErrCurrencyChanged", err)
	}
	if n, err := restarted.RestoreSpend(AppendSpendEntries(nil, nil)); err != nil || n != 0 {
		t.Fatalf("a USD state file without spend under a JPY book: %d, %v; want it read", n, err)
	}
	same := NewState(0)
	if _, err := Compile(usd, nil, same, opts); err != nil {
		t.Fatal(err)
	}
	if n, err := same.RestoreCurrency(saved); err != nil || n != 1 {
		t.Fatalf("a USD state file under a USD book: %d, %v", n, err)
	}
	if _, err := same.RestoreCurrency([]byte("EURO")); err == nil {
		t.Fatal("RestoreCurrency took a 4-letter code")
	}
}

// TestNewMoneyErrors: a campaign or bid currency without a rate, or a
// bad rate, fails the compile with the setting to fix.
func TestNewMoneyErrors(t *testing.T) {
	for _, tc := range []struct {
		file, bid string
		rates     map[string]float64
		want      string
	}{
		{"EUR", "USD", nil, `no rate for the campaign currency "EUR": add it to bidding.rates`},
		{"USD", "GBP", map[string]float64{"EUR": 0.9}, `no rate for the bid currency "GBP": add it to bidding.rates`},
		{"USD", "USD", map[string]float64{"EUR": 0}, `bad rate "EUR"`},
		{"USD", "USD", map[string]float64{"EURO": 1}, `bad rate "EURO"`},
	} {
		if _, err := newMoney(tc.file, tc.bid, tc.rates); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newMoney(%q, %q, %v): %v; want %q", tc.file, tc.bid, tc.rates, err, tc.want)
		}
	}
	if m, err := newMoney("eur", "", map[string]float64{"EUR": 0.5}); err != nil || m.factor(m.file, m.bid) != 2 {
		t.Fatalf("EUR file, USD bids at 0.5 EUR per USD: %v, factor %v; want 2", err, m.factor(m.file, m.bid))
	}
}

// TestRoundHalfAway compares roundHalfAway with math.Round on halves,
// their neighbours, large and special values, and random prices.
func TestRoundHalfAway(t *testing.T) {
	xs := []float64{0, math.Copysign(0, -1), 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
		1 << 52, 1<<52 + 1, 1 << 53, -(1 << 53), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), 4503599627370495.5, 12345.5, 12345.499999999998}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		p := r.Float64() * math.Pow(10, float64(r.IntN(12)-4))
		xs = append(xs, p*1e4, -p*1e4, math.Nextafter(math.Round(p)+0.5, 0), math.Round(p)+0.5)
	}
	for _, x := range xs {
		got, want := roundHalfAway(x), math.Round(x)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("roundHalfAway(%v) = %v, math.Round %v", x, got, want)
		}
	}
}
