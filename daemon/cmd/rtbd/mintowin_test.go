package main

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestMinToWin runs an exchange with exchanges[].minToWin: its bids'
// notice URLs ask for ${AUCTION_MIN_TO_WIN} (signed notices still
// verify), and a billing notice that carries it counts what was paid
// above it and the ratio of the two under the exchange. A notice whose
// mtw is unsubstituted or bad is billed all the same and counts nothing
// more. Another exchange's URLs do not ask.
func TestMinToWin(t *testing.T) {
	d := startDaemon(t, map[string]any{
		"bidding":   map[string]any{"noticeKeyFile": noticeKeyFile(t)},
		"exchanges": []any{map[string]any{"name": "tx-mtw", "bidPath": "/openrtb2/mtw", "minToWin": true}},
	})
	const macro = "${AUCTION_MIN_TO_WIN}"
	for _, b := range d.corpusBids(t, 1) {
		if strings.Contains(b.NURL+b.BURL+b.LURL, "mtw=") {
			t.Fatalf("the default endpoint's bid asks for the minimum to win: %+v", b)
		}
	}
	var bids []bid // of requests that are not tests, which move no spend
	for _, b := range d.corpusBidsTo(t, "/openrtb2/mtw", 8) {
		for _, u := range []string{b.NURL, b.BURL, b.LURL} {
			if !strings.Contains(u, "&price=${AUCTION_PRICE}&mtw="+macro) || !strings.Contains(u, "&sig=") {
				t.Fatalf("notice URL %s lacks a signature or &mtw=%s after the price", u, macro)
			}
		}
		if !strings.HasSuffix(b.ID, "t") {
			bids = append(bids, b)
		}
	}
	if len(bids) < 3 {
		t.Fatalf("%d bids of requests that are not tests; want 3", len(bids))
	}
	const (
		overpaid = `rtbd_exchange_overpaid_total{exchange="tx-mtw"}`
		ratios   = `rtbd_exchange_min_to_win_ratio_count{exchange="tx-mtw"}`
		ratioSum = `rtbd_exchange_min_to_win_ratio_sum{exchange="tx-mtw"}`
		spend    = `rtbd_exchange_spend_total{exchange="tx-mtw"}`
	)
	// bill fires b's billing notice at its bid's price with mtw in place
	// of the macro, and returns the metrics after it.
	bill := func(b bid, mtw string) map[string]float64 {
		t.Helper()
		if code := d.fire(t, strings.Replace(b.BURL, macro, mtw, 1), mustQuery(t, b.BURL, "bp")); code != 204 {
			t.Fatalf("billing notice with mtw %q: status %d; want 204", mtw, code)
		}
		return d.metrics(t)
	}
	bp, err := strconv.ParseFloat(mustQuery(t, bids[0].BURL, "bp"), 64)
	if err != nil {
		t.Fatal(err)
	}
	m := bill(bids[0], strconv.FormatFloat(bp/4, 'f', -1, 64))
	if math.Abs(m[overpaid]-bp*3/4/1000) > 1e-9 || m[ratios] != 1 || math.Abs(m[ratioSum]-0.25) > 1e-9 || math.Abs(m[spend]-bp/1000) > 1e-9 {
		t.Fatalf("after a bill at %v with a minimum to win of a quarter: overpaid %v, ratios %v (sum %v), spend %v; want %v, 1 (0.25), %v",
			bp, m[overpaid], m[ratios], m[ratioSum], m[spend], bp*3/4/1000, bp/1000)
	}
	for i, mtw := range []string{macro, "lots"} {
		before := m
		m = bill(bids[1+i], mtw)
		if m[overpaid] != before[overpaid] || m[ratios] != 1 || m[spend] <= before[spend] {
			t.Fatalf("a bill with mtw %q: overpaid %v, ratios %v, spend %v; want %v, 1 and more than %v",
				mtw, m[overpaid], m[ratios], m[spend], before[overpaid], before[spend])
		}
	}
}

// mustQuery returns the value of key in the query of the notice URL raw.
func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
