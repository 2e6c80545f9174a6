package decision

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rtbd/rtbd/daemon/openrtb"
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

// TestRetiredCurrencyBills checks that a reload dropping a currency's
// rate still converts the notices of the bids out in it, at its last
// rate, for retiredRateKeep: they were refused for the currency, and
// their spend never counted (the pricing audit). Bids never take it.
func TestRetiredCurrencyBills(t *testing.T) {
	t.Parallel()
	st := NewState(1 << 10)
	now := testNow
	st.now = func() time.Time { return now }
	book := func(rates map[string]float64) *Snapshot {
		opts := testOptions
		opts.Rates = rates
		s, err := Compile(testFile(bannerCampaign("c1", 5)), nil, st, opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	bill := func(cur string) (int64, error) {
		ch, err := st.Bill([]byte("c1"), 0, 1800, []byte(cur), now) // 1.8 EUR an impression
		return ch.Total, err
	}
	book(map[string]float64{"EUR": 0.9})
	if total, err := bill("EUR"); err != nil || total != 2_000_000 {
		t.Fatalf("EUR bill with its rate: total %d, %v; want 2 USD", total, err)
	}
	s := book(map[string]float64{"GBP": 0.8}) // EUR dropped
	if total, err := bill("eur"); err != nil || total != 4_000_000 {
		t.Fatalf("EUR bill after the reload that dropped it: total %d, %v; want 2 USD more", total, err)
	}
	if r := st.CurrencyRate([]byte("EUR")); math.Abs(r-1/0.9) > 1e-12 {
		t.Fatalf("EUR rate after the drop: %v; want 1/0.9", r)
	}
	r := bannerRequest()
	r.Cur = [][]byte{[]byte("EUR")}
	var resp openrtb.Response
	c := AcquireCtx()
	defer ReleaseCtx(c)
	if s.Decide(c, r, now, &resp); len(resp.Bids) != 0 && string(resp.Cur) == "EUR" {
		t.Fatal("bid in a retired currency")
	}
	// Kept through another reload, until retiredRateKeep after the drop.
	now = now.Add(retiredRateKeep*time.Second - time.Second)
	book(map[string]float64{"GBP": 0.8})
	if _, err := bill("EUR"); err != nil {
		t.Fatalf("EUR bill a reload later, within the keep: %v", err)
	}
	now = now.Add(2 * time.Second)
	book(map[string]float64{"GBP": 0.8})
	if _, err := bill("EUR"); err == nil {
		t.Fatal("EUR bill past the keep was converted")
	}
}
