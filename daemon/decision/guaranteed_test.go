package decision

import (
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// guaranteedRequest is bannerRequest with the deals of the imp.
func guaranteedRequest(deals ...openrtb.Deal) *openrtb.Request {
	r := bannerRequest()
	r.Imps[0].PMP.Deals = deals
	return r
}

// dealBids returns the response's bids as "campaign deal price".
func dealBids(resp *openrtb.Response) map[string]float64 {
	out := map[string]float64{}
	for _, b := range resp.Bids {
		out[string(b.CampaignID)+" "+string(b.DealID)] = b.Price
	}
	return out
}

// TestGuaranteedDeal checks deal.guar 1: a campaign that lists the deal
// bids through it at its floor, the agreed price, whatever its model
// price, up to its maxCPM, as long as targeting, budget and caps let it;
// untraced (with the scan's price bounds, which would skip it) as traced.
func TestGuaranteedDeal(t *testing.T) {
	t.Parallel()
	pg := bannerCampaign("pg", 1) // worth at most 1: never 8 by its model
	pg.MaxCPM, pg.Deals = 20, []string{"pmp-1", "pg-1", "pg-2"}
	open := bannerCampaign("open", 10)
	// Campaigns worth more, listing no deal: the scan's first bound
	// puts them before pg.
	others := []campaign.Campaign{pg, open}
	for _, id := range []string{"o1", "o2", "o3"} {
		others = append(others, bannerCampaign(id, 9))
	}
	// Open beside deal (M+N): the open bid does not hide the deal's.
	opts := testOptions
	opts.OpenBesideDeal = true
	compile := func(camps ...campaign.Campaign) (*State, *Snapshot) {
		t.Helper()
		return compileStateWith(t, opts, camps...)
	}
	_, s := compile(others...)
	want := func(name string, r *openrtb.Request, bids map[string]float64) {
		t.Helper()
		for _, traced := range []bool{false, true} {
			c := &Ctx{}
			if traced {
				c.Trace = &Trace{}
			}
			resp := &openrtb.Response{}
			s.Decide(c, r, testNow, resp)
			got := dealBids(resp)
			if len(got) != len(bids) {
				t.Fatalf("%s (traced %v): bids %v; want %v", name, traced, got, bids)
			}
			for k, p := range bids {
				if got[k] != p {
					t.Fatalf("%s (traced %v): bids %v; want %v", name, traced, got, bids)
				}
			}
			if traced && bids["pg pg-1"] > 0 {
				// Evaluated once, and explained under its imp.
				var entries []TraceCampaign
				for _, e := range c.Trace.Campaigns {
					if e.Campaign == "pg" {
						entries = append(entries, e)
					}
				}
				if len(entries) != 1 || entries[0].Filter != "" || entries[0].Imp != "1" || entries[0].Media != "banner" {
					t.Fatalf("%s: pg's trace %+v; want it priced once on imp 1, banner", name, entries)
				}
			}
		}
	}
	pgDeal := openrtb.Deal{ID: []byte("pg-1"), BidFloor: 8, Guar: 1}
	pmpDeal := openrtb.Deal{ID: []byte("pmp-1"), BidFloor: 0.5}

	notGuar := pgDeal
	notGuar.Guar = 0
	want("not guaranteed", guaranteedRequest(notGuar), map[string]float64{"open ": 10})
	want("guaranteed", guaranteedRequest(pgDeal), map[string]float64{"pg pg-1": 8, "open ": 10})
	// The guaranteed deal first, though the imp lists the other first
	// and pg's model clears its floor.
	want("guaranteed after a deal", guaranteedRequest(pmpDeal, pgDeal), map[string]float64{"pg pg-1": 8, "open ": 10})
	want("other deal only", guaranteedRequest(pmpDeal), map[string]float64{"pg pmp-1": 1, "open ": 10})
	// Two guaranteed deals pg lists: one bid, through the first.
	pg2 := pgDeal
	pg2.ID, pg2.BidFloor = []byte("pg-2"), 9
	want("two guaranteed", guaranteedRequest(pgDeal, pg2), map[string]float64{"pg pg-1": 8, "open ": 10})
	// A private auction: the deal bid only.
	r := guaranteedRequest(pgDeal)
	r.Imps[0].PMP.PrivateAuction = 1
	want("private", r, map[string]float64{"pg pg-1": 8})
	// Without a floor there is no agreed price: an auction as any deal's.
	noFloor := pgDeal
	noFloor.BidFloor = 0
	r = guaranteedRequest(noFloor)
	r.Imps[0].PMP.PrivateAuction = 1
	want("no floor", r, map[string]float64{"pg pg-1": 1})
	// Above the campaign's maxCPM: no bid.
	high := pgDeal
	high.BidFloor = 21
	r = guaranteedRequest(high)
	r.Imps[0].PMP.PrivateAuction = 1
	want("above maxCPM", r, map[string]float64{})

	// Targeting, budgets and caps still apply.
	pg.Targeting.Countries = []string{"FRA"}
	_, s = compile(pg, open)
	want("targeted away", guaranteedRequest(pgDeal), map[string]float64{"open ": 10})
	pg.Targeting.Countries = nil
	pg.Budget = campaignBudget(0, 5, "asap")
	st, s := compile(pg, open)
	want("budget left", guaranteedRequest(pgDeal), map[string]float64{"pg pg-1": 8, "open ": 10})
	bill(t, st, "pg", 0, 5, testNow)
	want("budget spent", guaranteedRequest(pgDeal), map[string]float64{"open ": 10})

	// Without M+N the imp's one best bid is open, and the guaranteed
	// deal's goes beside it.
	opts.OpenBesideDeal = false
	pg.Budget = campaign.Budget{}
	_, s = compile(pg, open)
	want("one best", guaranteedRequest(pgDeal), map[string]float64{"pg pg-1": 8, "open ": 10})
	want("one best, not guaranteed", guaranteedRequest(notGuar), map[string]float64{"open ": 10})
}

// TestGuaranteedDealInPod: in a dynamic pod, where each campaign offers
// several options, the campaign of a guaranteed deal is evaluated once:
// its ad at the agreed price beside the two others that fill the pod,
// though its value would let the scan evaluate it again.
func TestGuaranteedDealInPod(t *testing.T) {
	t.Parallel()
	pg := videoCampaign("pg", "pg.com", "IAB1", 30, 15)
	pg.Deals = []string{"pg-1"}
	s := mustCompile(t, testFile(pg,
		videoCampaign("x", "x.com", "IAB2", 6, 15),
		videoCampaign("y", "y.com", "IAB3", 5, 15),
	), nil)
	imp := videoImp("pod")
	imp.Video.PodDur, imp.Video.MaxSeq = 45, 3
	imp.PMP.Deals = []openrtb.Deal{{ID: []byte("pg-1"), BidFloor: 8, Guar: 1}}
	for _, traced := range []bool{false, true} {
		c := &Ctx{}
		if traced {
			c.Trace = &Trace{}
		}
		resp := &openrtb.Response{}
		s.Decide(c, ctvRequest(imp), testNow, resp)
		got := dealBids(resp)
		if len(got) != 3 || got["pg pg-1"] != 8 || got["x "] != 6 || got["y "] != 5 {
			t.Fatalf("traced %v: bids %v; want pg through pg-1 at 8, x at 6 and y at 5", traced, got)
		}
		checkPod(t, resp)
	}
}
