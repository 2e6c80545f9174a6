package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/decision"
)

// TestBillsInRequestCurrency: a request that asks for EUR gets its bid in
// EUR (bidding.rates has a rate), and the bid's billing notice, in EUR
// too, moves the campaign's spend by its price converted to the campaign
// file's currency (USD); a notice in a currency without a rate is refused
// and moves nothing.
func TestBillsInRequestCurrency(t *testing.T) {
	d := startDaemon(t, map[string]any{"bidding": map[string]any{"rates": map[string]any{"EUR": 0.5}}})
	var x bid
	for _, f := range corpus.Requests() {
		var req map[string]any
		if json.Unmarshal(f.Body, &req) != nil {
			continue
		}
		req["cur"] = []string{"EUR"}
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, bids := d.postBid(t, body); len(bids) > 0 && !decision.IsTestBidID([]byte(bids[0].ID)) {
			x = bids[0]
			break
		}
	}
	if x.BURL == "" || !strings.Contains(x.BURL, "cur=EUR") {
		t.Fatalf("no bid in EUR with a billing URL from the corpus (last %+v)", x)
	}
	price := strconv.FormatFloat(x.Price, 'f', -1, 64)
	if code := d.fire(t, strings.Replace(x.BURL, "cur=EUR", "cur=GBP", 1), price); code != 400 {
		t.Fatalf("a billing notice in GBP, which has no rate: %d; want 400", code)
	}
	if got := d.spendTotal(t); got != 0 {
		t.Fatalf("spend %d micro-units after a refused notice; want 0", got)
	}
	d.notice(t, x.BURL, price)
	// CPM x.Price EUR is x.Price/0.5/1000 USD per impression.
	if got, want := d.spendTotal(t), int64(math.Round(x.Price*2000)); got != want {
		t.Fatalf("spend %d micro-units after billing %s EUR; want %d (in USD)", got, price, want)
	}
}

// TestBillsDOOHMultiplier: a bid on a DOOH imp with qty.multiplier (14.2
// impressions a play) carries it in its notice URLs, signed, and asks the
// exchange for the multiplier it bills; its bill moves the spend by the
// price times the exchange's multiplier, or the request's when the
// exchange left the macro, and a bill whose signed multiplier was
// changed is refused.
func TestBillsDOOHMultiplier(t *testing.T) {
	d := startDaemon(t, map[string]any{"bidding": map[string]any{
		"noticeKeyFile": noticeKeyFile(t), "requireSignedNotices": true,
		"rates": map[string]any{"GBP": 0.79}, // the request's floor is in GBP
	}})
	body, ok := corpus.Request("iab__impl-dooh-banner.json")
	if !ok {
		t.Fatal("no iab__impl-dooh-banner.json in the corpus")
	}
	var bids []bid
	for i := range 3 {
		b := strings.Replace(string(body), `"id": "`, `"id": "r`+strconv.Itoa(i), 1)
		code, got := d.postBid(t, []byte(b))
		if code != 200 || len(got) != 1 {
			t.Fatalf("DOOH request %d: %d with %d bids; want a bid", i, code, len(got))
		}
		bids = append(bids, got[0])
	}
	if !strings.Contains(bids[0].BURL, "&qm=14.2&sig=") || !strings.Contains(bids[0].BURL, "&mul=${AUCTION_MULTIPLIER}") {
		t.Fatalf("burl %s; want qm=14.2 signed and the multiplier macro", bids[0].BURL)
	}
	if !strings.Contains(bids[0].BURL, "&cur=GBP&") {
		t.Fatalf("burl %s; want the bid in GBP, the request's cur", bids[0].BURL)
	}
	// Spend is in USD, the campaign file's: GBP / 0.79.
	micro := func(price, qty float64) int64 { return int64(math.Round(price * qty / 0.79 * 1000)) }
	spent := int64(0)
	for i, c := range []struct {
		mul string
		qty float64
	}{{"10", 10}, {"${AUCTION_MULTIPLIER}", 14.2}} {
		x := bids[i]
		price := strconv.FormatFloat(x.Price, 'f', -1, 64)
		d.notice(t, strings.Replace(x.BURL, "${AUCTION_MULTIPLIER}", c.mul, 1), price)
		spent += micro(x.Price, c.qty)
		if got := d.spendTotal(t); math.Abs(float64(got-spent)) > 1 {
			t.Fatalf("spend %d micro-units after a bill at %s x %s; want %d", got, price, c.mul, spent)
		}
	}
	forged := strings.Replace(bids[2].BURL, "&qm=14.2&", "&qm=1.42&", 1)
	if code := d.fire(t, forged, "1"); code != 400 {
		t.Fatalf("a bill with its signed multiplier changed: %d; want 400", code)
	}
}
