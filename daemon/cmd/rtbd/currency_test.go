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
