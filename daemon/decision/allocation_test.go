//go:build !race

package decision

import (
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestDecideAllocations: Decide allocates nothing in steady state, for
// generated CTV pods and hand-built banner requests, bid or no bid, with
// guaranteed deals or without, in pods too.
func TestDecideAllocations(t *testing.T) {
	f := campaign.Generate(2000, 1)
	s, err := Compile(f, campaign.GenerateModel(1<<16, 1), NewState(1<<12), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	reqs := parseRequests(t, campaign.GenerateCTVRequests(50, 2))
	for i, r := range reqs {
		for j := range r.Imps {
			if d := r.Imps[j].PMP.Deals; i%3 == 0 && len(d) > 0 && d[0].BidFloor > 0 {
				d[0].Guar = 1
			}
		}
	}
	ctv := len(reqs)
	reqs = append(reqs, bannerRequest(), ctvRequest(videoImp("1")))
	var deals []string
	for j := range f.Campaigns {
		deals = append(deals, f.Campaigns[j].Deals...)
	}
	for i, r := range bannerRequests(t, f, 20) {
		r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte(deals[i*7%len(deals)]), BidFloor: 3, Guar: 1}}
		reqs = append(reqs, r)
	}
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var resp openrtb.Response
	bids, guaranteed, inPods := 0, 0, 0
	for i, r := range reqs {
		r := r
		s.Decide(c, r, testNow, &resp) // warm up capacity
		for _, b := range resp.Bids {
			for j := range r.Imps {
				if d := r.Imps[j].PMP.Deals; string(r.Imps[j].ID) == string(b.ImpID) && len(d) > 0 && d[0].Guar == 1 && string(b.DealID) == string(d[0].ID) {
					guaranteed++
					if i < ctv {
						inPods++
					}
				}
			}
		}
		allocs := testing.AllocsPerRun(20, func() {
			if s.Decide(c, r, testNow, &resp) == ReasonBid {
				bids++
			}
		})
		if allocs != 0 {
			t.Fatalf("Decide allocates %v times per request %s", allocs, r.ID)
		}
	}
	if bids == 0 || guaranteed == inPods || inPods == 0 {
		t.Fatalf("%d bids, %d through guaranteed deals, %d of them in CTV requests: the test misses a path", bids, guaranteed, inPods)
	}
}

func TestUserKeyAllocations(t *testing.T) {
	r := bannerRequest()
	if n := testing.AllocsPerRun(100, func() { UserKey(r) }); n != 0 {
		t.Fatalf("UserKey allocates %v times", n)
	}
}
