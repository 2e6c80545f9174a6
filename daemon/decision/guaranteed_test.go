package decision

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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

// TestGuaranteedDealFirstInPod: the buyer must bid on a guaranteed deal,
// so in a pod its ads go in before any other, however much more the
// others are worth, and the others fill what is left by price. Priority
// breaks no pod rule: an ad that does not fit stays out.
func TestGuaranteedDealFirstInPod(t *testing.T) {
	t.Parallel()
	pg := videoCampaign("pg", "pg.com", "IAB1", 1, 30) // worth 1 by its model
	pg.MaxCPM, pg.Deals = 20, []string{"pg-1"}
	pg2 := videoCampaign("pg2", "pg2.com", "IAB2", 1, 15)
	pg2.MaxCPM, pg2.Deals = 20, []string{"pg-2"}
	// pg3 shares an advertiser domain with a and a category with b.
	pg3 := videoCampaign("pg3", "a.com", "IAB4", 1, 30)
	pg3.MaxCPM, pg3.Deals = 20, []string{"pg-3"}
	s := mustCompile(t, testFile(pg, pg2, pg3,
		videoCampaign("a", "a.com", "IAB3", 14, 30),
		videoCampaign("b", "b.com", "IAB4", 13, 30),
		videoCampaign("c", "c.com", "IAB5", 12, 15),
		videoCampaign("d", "d.com", "IAB6", 11, 15),
		videoCampaign("e", "e.com", "IAB7", 10, 30),
		videoCampaign("f", "f.com", "IAB8", 9, 30),
	), nil)
	deal1 := openrtb.Deal{ID: []byte("pg-1"), BidFloor: 8, Guar: 1}
	deal2 := openrtb.Deal{ID: []byte("pg-2"), BidFloor: 7, Guar: 1}
	dynamic := func(podDur, maxSeq int, deals ...openrtb.Deal) *openrtb.Request {
		imp := videoImp("pod")
		imp.Video.PodDur, imp.Video.MaxSeq, imp.PMP.Deals = podDur, maxSeq, deals
		return ctvRequest(imp)
	}
	deal3 := openrtb.Deal{ID: []byte("pg-3"), BidFloor: 8, Guar: 1}
	// slots returns a pod of two structured slots, each with its deals.
	slots := func(deals1, deals2 []openrtb.Deal) *openrtb.Request {
		var imps []openrtb.Imp
		for i, deals := range [][]openrtb.Deal{deals1, deals2} {
			imp := videoImp([]string{"s1", "s2"}[i])
			imp.Video.PodID, imp.PMP.Deals = []byte("pod-1"), deals
			imps = append(imps, imp)
		}
		return ctvRequest(imps...)
	}
	one, three := []openrtb.Deal{deal1}, []openrtb.Deal{deal3}
	for _, tc := range []struct {
		name string
		r    *openrtb.Request
		want map[string]float64
	}{
		// One ad fits: by price a (14); the six others would also push
		// pg out of the options a dynamic pod of one ad keeps (four).
		{"alone", dynamic(30, 1, deal1), map[string]float64{"pg pg-1": 8}},
		// pg's 30 s, then the best of the other 30 s in two ads: c and d
		// (23) rather than a (14). By price: a, c and d.
		{"rest by price", dynamic(60, 3, deal1), map[string]float64{"pg pg-1": 8, "c ": 12, "d ": 11}},
		{"two guaranteed", dynamic(45, 3, deal1, deal2), map[string]float64{"pg pg-1": 8, "pg2 pg-2": 7}},
		// pg's 30 s does not fit a 20 s pod: c alone (c and d last 30 s).
		{"does not fit", dynamic(20, 3, deal1), map[string]float64{"c ": 12}},
		// Two structured slots: pg and a. By price: a and b.
		{"slots", slots(one, one), map[string]float64{"pg pg-1": 8, "a ": 14}},
		// Only the second slot offers pg3's deal, and pg3 excludes a and
		// b: c and pg3 (20), which the search finds (slot by slot: a and
		// b, 27).
		{"slots, clashing", slots(nil, three), map[string]float64{"pg3 pg-3": 8, "c ": 12}},
	} {
		for _, traced := range []bool{false, true} {
			c := &Ctx{}
			if traced {
				c.Trace = &Trace{}
			}
			resp := &openrtb.Response{}
			s.Decide(c, tc.r, testNow, resp)
			if got := dealBids(resp); !maps.Equal(got, tc.want) {
				t.Fatalf("%s (traced %v): bids %v; want %v", tc.name, traced, got, tc.want)
			}
			checkPod(t, resp)
		}
	}
	// Outside a pod, also after one in the same request, the imp's best
	// bid is still the best one, with the guaranteed deal's beside it.
	r := dynamic(30, 1, deal1)
	solo := videoImp("solo")
	solo.PMP.Deals = []openrtb.Deal{deal1}
	r.Imps = append(r.Imps, solo)
	_, resp, _ := decide(s, r, testNow)
	got := map[string]float64{}
	for _, b := range resp.Bids {
		got[string(b.ImpID)+" "+string(b.CampaignID)] = b.Price
	}
	if want := map[string]float64{"pod pg": 8, "solo pg": 8, "solo a": 14}; !maps.Equal(got, want) {
		t.Fatalf("a pod and an imp in none: bids %v; want %v", got, want)
	}
}

// TestFirstBonus: with firstBonus added to the options through a
// guaranteed deal, any set of options with more of them is worth more
// than every set with fewer, whatever the prices (random option sets,
// every subset).
func TestFirstBonus(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 500 {
		opts := make([]option, 1+rng.IntN(10))
		for i := range opts {
			opts[i].price = float64(1+rng.IntN(400)) / 8
			opts[i].first = rng.IntN(3) == 0
		}
		bonus := firstBonus(opts)
		// lo[f] and hi[f]: the least and most a set with f such
		// options is worth.
		lo, hi := map[int]float64{}, map[int]float64{}
		for set := 0; set < 1<<len(opts); set++ {
			v, f := 0.0, 0
			for i := range opts {
				if set&(1<<i) != 0 {
					v += opts[i].value(bonus)
					if opts[i].first {
						f++
					}
				}
			}
			if l, ok := lo[f]; !ok || v < l {
				lo[f] = v
			}
			hi[f] = max(hi[f], v)
		}
		for f := 1; f <= len(opts); f++ {
			if l, ok := lo[f]; ok && l <= hi[f-1] {
				t.Fatalf("round %d: a set with %d guaranteed options is worth %v, one with %d is worth %v (bonus %v, options %+v)",
					round, f, l, f-1, hi[f-1], bonus, opts)
			}
		}
	}
}

// TestGuaranteedDealFirstInPodOptions: a pod keeps its options through
// guaranteed deals besides the ones it keeps otherwise, and neither set
// crowds out the other.
func TestGuaranteedDealFirstInPodOptions(t *testing.T) {
	t.Parallel()
	pg := videoCampaign("pg", "pg.com", "IAB1", 1, 30)
	pg.MaxCPM, pg.Deals = 20, []string{"pg-1"}
	camps := []campaign.Campaign{pg, videoCampaign("a", "a.com", "IAB3", 14, 30)}
	// x1-x4 list the deal, which admits pg.com alone: their options,
	// worth more than pg's, are open, or through pmp-1 for x1.
	for i := 1; i <= 4; i++ {
		x := videoCampaign("x"+itoa(i), "x"+itoa(i)+".com", "IAB"+itoa(10+i), float64(15+i), 30)
		x.Deals = []string{"pg-1"}
		camps = append(camps, x)
	}
	camps[2].Deals = append(camps[2].Deals, "pmp-1")
	// pg5 and y1-y6 list pg-5, which admits pg5.com alone; y2-y6 share
	// pg5's category, y1 does not.
	pg5 := videoCampaign("pg5", "pg5.com", "IAB5", 1, 30)
	pg5.MaxCPM, pg5.Deals = 20, []string{"pg-5"}
	camps = append(camps, pg5)
	for i := 1; i <= 6; i++ {
		y := videoCampaign("y"+itoa(i), "y"+itoa(i)+".com", "IAB5", float64(20+i), 30)
		y.Deals = []string{"pg-5"}
		if i == 1 {
			y.Cat = []string{"IAB20"}
		}
		camps = append(camps, y)
	}
	// g1-g6 share a category: one of them fits a pod.
	for i := 1; i <= 6; i++ {
		g := videoCampaign("g"+itoa(i), "g"+itoa(i)+".com", "IAB9", 1, 15)
		g.MaxCPM, g.Deals = 20, []string{"pg-9"}
		camps = append(camps, g)
	}
	s := mustCompile(t, testFile(camps...), nil)
	for _, traced := range []bool{false, true} {
		pod := func(podDur, maxSeq int, deals ...openrtb.Deal) map[string]float64 {
			t.Helper()
			imp := videoImp("pod")
			imp.Video.PodDur, imp.Video.MaxSeq, imp.PMP.Deals = podDur, maxSeq, deals
			c := &Ctx{}
			if traced {
				c.Trace = &Trace{}
			}
			resp := &openrtb.Response{}
			s.Decide(c, ctvRequest(imp), testNow, resp)
			checkPod(t, resp)
			return dealBids(resp)
		}
		// A pod of one ad keeps four options; x1-x4 are evaluated with pg,
		// before the scan, and must not push it out. x1's deal is not
		// guaranteed.
		deal := openrtb.Deal{ID: []byte("pg-1"), BidFloor: 8, Guar: 1, WADomain: [][]byte{[]byte("pg.com")}}
		pmp := openrtb.Deal{ID: []byte("pmp-1"), BidFloor: 1}
		if got, want := pod(30, 1, deal, pmp), map[string]float64{"pg pg-1": 8}; !maps.Equal(got, want) {
			t.Fatalf("traced %v: bids %v; want %v", traced, got, want)
		}
		// A pod of two ads keeps six options besides pg5: y6-y2, which
		// clash with it, and y1, which goes beside it (x4 is worth 19).
		deal = openrtb.Deal{ID: []byte("pg-5"), BidFloor: 8, Guar: 1, WADomain: [][]byte{[]byte("pg5.com")}}
		if got, want := pod(60, 2, deal), map[string]float64{"pg5 pg-5": 8, "y1 ": 21}; !maps.Equal(got, want) {
			t.Fatalf("traced %v: bids %v; want %v", traced, got, want)
		}
		// A pod of two ads keeps six options, and g1-g6 are six: one goes
		// in, and the best other ad beside it, y6 (26).
		deal = openrtb.Deal{ID: []byte("pg-9"), BidFloor: 8, Guar: 1}
		got := pod(45, 2, deal)
		gs := 0
		for k, p := range got {
			if k[0] == 'g' && p == 8 {
				gs++
			}
		}
		if len(got) != 2 || gs != 1 || got["y6 "] != 26 {
			t.Fatalf("traced %v: bids %v; want one of g1-g6 at 8 and y6 at 26", traced, got)
		}
	}
}

// TestPutFirst: the options through a guaranteed deal move before the
// others, each part in its order (by price), and k others stay.
func TestPutFirst(t *testing.T) {
	t.Parallel()
	c := &Ctx{dealGuide: []floorGuide{{guar: true}, {}}}
	for _, deal := range []int8{-1, 1, 0, -1, 0} {
		c.opts = append(c.opts, option{deal: deal, price: float64(9 - len(c.opts))})
	}
	if n := c.putFirst(2); n != 2 {
		t.Fatalf("putFirst marked %d; want 2", n)
	}
	var got []string
	for _, o := range c.opts {
		got = append(got, fmt.Sprintf("%v:%v", o.price, o.first))
	}
	if want := []string{"7:true", "5:true", "9:false", "8:false"}; !slices.Equal(got, want) {
		t.Fatalf("options %v; want %v", got, want)
	}
	if !c.podFirst {
		t.Fatal("the pod does not know it has options through a guaranteed deal")
	}
}

// TestDealIDs: a snapshot's deals are those its campaigns list, sorted,
// once each, however many campaigns list them.
func TestDealIDs(t *testing.T) {
	a, b, c := bannerCampaign("a", 1), bannerCampaign("b", 1), bannerCampaign("c", 1)
	a.Deals, b.Deals = []string{"pg-2", "pg-1"}, []string{"pmp-1", "pg-2"}
	s := mustCompile(t, testFile(a, b, c), nil)
	if got, want := s.DealIDs(), []string{"pg-1", "pg-2", "pmp-1"}; !slices.Equal(got, want) {
		t.Fatalf("DealIDs() = %q; want %q", got, want)
	}
}

// TestGuaranteedDealElsewhereKeepsOpenBid checks that another buyer's
// guaranteed deal on the imp does not hold a campaign to its own deal
// above its maxCpm: it once bid nothing where, without that guaranteed
// deal, it bid in the open auction (the pricing audit).
func TestGuaranteedDealElsewhereKeepsOpenBid(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c", 5)
	c.Deals = []string{"D"}
	s := mustCompile(t, testFile(c), nil)
	for _, deals := range [][]openrtb.Deal{
		{{ID: []byte("D"), BidFloor: 10}, {ID: []byte("G"), BidFloor: 3, Guar: 1}},
		{{ID: []byte("D"), BidFloor: 10, Guar: 1}}, // its own, out of reach
	} {
		r := bannerRequest()
		r.Imps[0].BidFloor = 1
		r.Imps[0].PMP.Deals = deals
		reason, resp, _ := decide(s, r, testNow)
		if reason != ReasonBid || len(resp.Bids) != 1 || len(resp.Bids[0].DealID) != 0 || resp.Bids[0].Price != 5 {
			t.Fatalf("deals %s: reason %s, bids %v; want an open bid of 5", deals[len(deals)-1].ID, reason, bidPrices(resp))
		}
	}
}
