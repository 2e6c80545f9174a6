package decision

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// bidPrices summarises a response as sorted "imp:price" strings.
func bidPrices(resp *openrtb.Response) []string {
	var out []string
	for _, b := range resp.Bids {
		out = append(out, fmt.Sprintf("%s:%.4f", b.ImpID, b.Price))
	}
	slices.Sort(out)
	return out
}

// TestPruningIsExact: the price cut-offs (value order, per-candidate and
// exact cross-feature bounds) never change the decision, in the campaigns'
// currency or another. Tracing turns
// them off, so a traced Decide is the exhaustive reference.
func TestPruningIsExact(t *testing.T) {
	t.Parallel()
	checkPruning(t, 1, 2, 3)
}

// TestPruningIsExactBigBatch is TestPruningIsExact with the batches of a
// large book (batchSize), which the 3,000 campaigns would not have. Not
// parallel: it changes smallBookWords, which the parallel tests read once
// it is done.
func TestPruningIsExactBigBatch(t *testing.T) {
	defer func(w int) { smallBookWords = w }(smallBookWords)
	smallBookWords = 0
	checkPruning(t, 1, 3)
}

func checkPruning(t *testing.T, seeds ...int64) {
	for _, seed := range seeds {
		f := campaign.Generate(3000, seed)
		opts := testOptions
		// Seed 3 bids open beside deal (M+N): the scan then keeps two cuts.
		opts.OpenBesideDeal = seed == 3
		s, err := Compile(f, campaign.GenerateModel(1<<12, seed), NewState(1<<12), opts)
		if err != nil {
			t.Fatal(err)
		}
		reqs := parseRequests(t, campaign.GenerateCTVRequests(100, seed))
		banner := bannerRequests(t, f, 100)
		// Half the display imps offer a deal of the campaigns'.
		var deals []string
		for j := range f.Campaigns {
			deals = append(deals, f.Campaigns[j].Deals...)
		}
		for i, r := range banner {
			if i%2 == 0 && len(deals) > 0 {
				r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte(deals[i*13%len(deals)]), BidFloor: 0.5}}
			}
			if i%2 == 1 && len(deals) > 0 {
				// Guaranteed: bid at the agreed price whatever the model,
				// which the scan's bounds do not see.
				r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte(deals[i*7%len(deals)]), BidFloor: 3, Guar: 1}}
			}
		}
		// And in pods: the first deal of some CTV imps.
		for i, r := range reqs {
			for j := range r.Imps {
				if d := r.Imps[j].PMP.Deals; i%5 == 0 && len(d) > 0 && d[0].BidFloor > 0 {
					d[0].Guar = 1
				}
			}
		}
		reqs = append(reqs, banner...)
		fast := AcquireCtx()
		bids, eurBids, unbatched, beside, guaranteed := 0, 0, 0, 0, 0
		for i, r := range reqs {
			if i%2 == 1 {
				// Bids in euros: the bounds convert the cut to the
				// campaigns' currency.
				r.Cur = [][]byte{[]byte("EUR")}
			}
			if i%3 == 2 {
				// No domain: with the device type known, no cross feature
				// is unknown before hashing, and collect evaluates each
				// candidate its first bound passes at once, unbatched.
				r.Site.Domain, r.App.Bundle = nil, nil
			}
			var got openrtb.Response
			rg := s.Decide(fast, r, testNow, &got)
			if fast.rf.slack == 0 {
				unbatched += len(got.Bids)
			}
			want := &openrtb.Response{}
			slow := AcquireCtx()
			slow.Trace = &Trace{}
			rw := s.Decide(slow, r, testNow, want)
			if rg != rw || !slices.Equal(bidPrices(&got), bidPrices(want)) {
				t.Fatalf("seed %d request %d: pruned %s %v; exhaustive %s %v", seed, i, rg, bidPrices(&got), rw, bidPrices(want))
			}
			ReleaseCtx(slow)
			open, deal := false, false
			for _, b := range got.Bids {
				g := slices.ContainsFunc(r.Imps[0].PMP.Deals, func(d openrtb.Deal) bool { return d.Guar == 1 && string(b.DealID) == string(d.ID) })
				switch {
				case g:
					guaranteed++
				case len(b.DealID) > 0:
					deal = true
				default:
					open = true
				}
			}
			if i >= len(reqs)-len(banner) && open && deal {
				beside++ // a deal bid and an open one
			}
			bids += len(got.Bids)
			if string(got.Cur) == "EUR" {
				eurBids += len(got.Bids)
			}
		}
		ReleaseCtx(fast)
		if bids < 100 || eurBids < 50 || unbatched < 30 || opts.OpenBesideDeal != (beside >= 10) || guaranteed < 5 {
			t.Fatalf("seed %d: only %d bids, %d in euros, %d with no unknown cross feature, %d display imps with a deal bid and an open one (open beside deal: %v), %d through guaranteed deals; the comparison is too weak",
				seed, bids, eurBids, unbatched, beside, opts.OpenBesideDeal, guaranteed)
		}
	}
}

// TestPrunedNoBidReason checks that the scan's first bound notes a
// candidate it drops as below the floor: the only other candidate is
// blocked, and a price below the floor got further than a block.
func TestPrunedNoBidReason(t *testing.T) {
	t.Parallel()
	blocked, cheap := bannerCampaign("blocked", 10), bannerCampaign("cheap", 1)
	blocked.Creatives[0].Attr = []int{3}
	s := mustCompile(t, testFile(blocked, cheap), nil)
	r := bannerRequest()
	r.Imps[0].BidFloor, r.Imps[0].Banner.BAttr = 5, []int{3}
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var resp openrtb.Response
	pruned := s.Decide(c, r, testNow, &resp)
	exhaustive, _, _ := decide(s, r, testNow)
	if pruned != ReasonBelowFloor || exhaustive != ReasonBelowFloor {
		t.Fatalf("reason pruned %s, exhaustive %s; want below_floor", pruned, exhaustive)
	}
}

// TestNegativeModelPricesDomainCross checks a model whose every weight is
// at most 0: no cross feature can raise a logit, so the scan evaluates
// each candidate unbatched, and it once priced those without their
// campaign_x_domain weight: 9.5257 for a bid worth 10 x sigmoid(3 - 6)
// (the pricing audit).
func TestNegativeModelPricesDomainCross(t *testing.T) {
	t.Parallel()
	const buckets = 1 << 16
	m := &campaign.Model{Version: campaign.ModelVersion, Buckets: buckets, Bias: 3,
		Features: []string{"campaign_x_domain"}, Weights: make([]float64, buckets)}
	m.Weights[crossHashBytes(xxhashString("campaign=c1"), xxhashString("domain=example.com"))&(buckets-1)] = -6
	s := mustCompile(t, testFile(bannerCampaign("c1", 10)), m)
	var got openrtb.Response
	c := AcquireCtx()
	defer ReleaseCtx(c)
	s.Decide(c, bannerRequest(), testNow, &got)
	if len(got.Bids) != 1 || got.Bids[0].Price != 0.4743 {
		t.Fatalf("bids %v; want 1:0.4743", bidPrices(&got))
	}
}

// TestStopWordMargin checks the scan's early stop without a model keeps
// the margin of the other bounds: a campaign worth exactly the floor
// after conversion (4.77 USD at 0.9 EUR is 4.293 EUR, just under in
// floating point) was cut at the first word, a no-bid where the
// exhaustive decision bids (the pricing audit).
func TestStopWordMargin(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(bannerCampaign("c1", 4.77)), nil)
	r := bannerRequest()
	r.Cur = [][]byte{[]byte("EUR")}
	r.Imps[0].BidFloor, r.Imps[0].BidFloorCur = 4.293, []byte("EUR")
	want, ref, _ := decide(s, r, testNow)
	var got openrtb.Response
	c := AcquireCtx()
	defer ReleaseCtx(c)
	if reason := s.Decide(c, r, testNow, &got); reason != want || len(got.Bids) != len(ref.Bids) || len(got.Bids) != 1 {
		t.Fatalf("pruned: %s %v; exhaustive: %s %v; want one bid in both", reason, bidPrices(&got), want, bidPrices(ref))
	}
}
