//go:build !race

package decision

import (
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestDecideAllocations: Decide allocates nothing in steady state, for
// generated CTV pods and hand-built banner requests, bid or no bid.
func TestDecideAllocations(t *testing.T) {
	f := campaign.Generate(2000, 1)
	s, err := Compile(f, campaign.GenerateModel(1<<16, 1), NewState(1<<12), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	reqs := parseRequests(t, campaign.GenerateCTVRequests(50, 2))
	reqs = append(reqs, bannerRequest(), ctvRequest(videoImp("1")))
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var resp openrtb.Response
	bids := 0
	for _, r := range reqs {
		r := r
		s.Decide(c, r, testNow, &resp) // warm up capacity
		allocs := testing.AllocsPerRun(20, func() {
			if s.Decide(c, r, testNow, &resp) == ReasonBid {
				bids++
			}
		})
		if allocs != 0 {
			t.Fatalf("Decide allocates %v times per request %s", allocs, r.ID)
		}
	}
	if bids == 0 {
		t.Fatalf("no request got a bid: the test measures only the no-bid path")
	}
}

func TestUserKeyAllocations(t *testing.T) {
	r := bannerRequest()
	if n := testing.AllocsPerRun(100, func() { UserKey(r) }); n != 0 {
		t.Fatalf("UserKey allocates %v times", n)
	}
}
