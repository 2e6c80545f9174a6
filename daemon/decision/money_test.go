package decision

import (
	"strings"
	"testing"
)

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
