package decision

import (
	"math"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestDemoOnCorpus runs the embedded demo book over every shared corpus
// request: no panic, some bids, and every bid valid against its request
// (imp id, price above the converted floor, creative id, adomain, mtype).
func TestDemoOnCorpus(t *testing.T) {
	t.Parallel()
	f, m := campaign.Demo()
	s, err := Compile(f, m, NewState(1<<12), testOptions)
	if err != nil {
		t.Fatalf("cannot compile the demo: %s", err)
	}
	bidRequests := 0
	for _, file := range corpus.Requests() {
		var r openrtb.Request
		if err := r.Parse(file.Body); err != nil {
			continue // the parser's own tests cover its errors
		}
		reason, resp, _ := decide(s, &r, testNow)
		if reason == ReasonBid {
			bidRequests++
		}
		if (reason == ReasonBid) != (len(resp.Bids) > 0) {
			t.Fatalf("%s: reason %s with %d bids", file.Name, reason, len(resp.Bids))
		}
		for i := range resp.Bids {
			checkBid(t, file.Name, s, &r, resp, &resp.Bids[i])
		}
	}
	if bidRequests == 0 {
		t.Fatalf("the demo book bids on no corpus request")
	}
	t.Logf("demo bids on %d of %d corpus requests", bidRequests, len(corpus.Requests()))
}

func checkBid(t *testing.T, name string, s *Snapshot, r *openrtb.Request, resp *openrtb.Response, b *openrtb.Bid) {
	t.Helper()
	var imp *openrtb.Imp
	for i := range r.Imps {
		if string(r.Imps[i].ID) == string(b.ImpID) {
			imp = &r.Imps[i]
		}
	}
	if imp == nil || len(b.ID) == 0 || len(b.CrID) == 0 || len(b.ADomain) == 0 || b.MType < 1 || b.MType > 4 || !(b.Price > 0) {
		t.Fatalf("%s: invalid bid %+v", name, b)
	}
	ci, _ := s.money.lookup(resp.Cur)
	fi, ok := s.money.lookup(imp.BidFloorCur)
	floor := imp.BidFloor * s.money.factor(fi, ci)
	if len(b.DealID) == 0 && ok && b.Price < floor-1e-9 || math.Abs(math.Round(b.Price*1e4)-b.Price*1e4) > 1e-6 {
		t.Fatalf("%s: price %v below floor %v or not rounded", name, b.Price, floor)
	}
}

// TestCorpusInvalidRequests: whatever the parser accepts from the invalid
// corpus, Decide must not panic on it.
func TestCorpusInvalidRequests(t *testing.T) {
	t.Parallel()
	f, m := campaign.Demo()
	s, err := Compile(f, m, NewState(1<<12), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range corpus.Invalid() {
		var r openrtb.Request
		_ = r.Parse(file.Body)
		decide(s, &r, testNow)
	}
}

// TestBidStaticMatchesFields: the fields each creative encodes once
// (openrtb.Bid.Static) are byte for byte what the encoder writes from the
// bid's own fields, for every bid of the demo book on the corpus and of a
// generated book on generated display and CTV requests. A bid whose
// emitted fields drifted from its creative's encoding (a size taken from
// the imp, say) would answer one thing and log another.
func TestBidStaticMatchesFields(t *testing.T) {
	t.Parallel()
	demoF, demoM := campaign.Demo()
	gen := campaign.Generate(1000, 1)
	var corpusBodies [][]byte
	for _, f := range corpus.Requests() {
		corpusBodies = append(corpusBodies, f.Body)
	}
	books := []struct {
		name   string
		f      *campaign.File
		m      *campaign.Model
		bodies [][]byte
	}{
		{"demo", demoF, demoM, append(corpusBodies, campaign.GenerateCTVRequests(64, 1)...)},
		{"generated", gen, nil, append(campaign.GenerateBannerRequests(gen, 64), campaign.GenerateCTVRequests(64, 2)...)},
	}
	for _, bk := range books {
		s := mustCompile(t, bk.f, bk.m)
		static := 0
		for i, r := range parseRequests(t, bk.bodies) {
			_, resp, _ := decide(s, r, testNow)
			withStatic := openrtb.AppendResponse(nil, resp)
			for j := range resp.Bids {
				if len(resp.Bids[j].Static) != 0 {
					static++
				}
				resp.Bids[j].Static = nil
			}
			if fields := openrtb.AppendResponse(nil, resp); string(fields) != string(withStatic) {
				t.Fatalf("%s request %d: encoded with Static\n%s\nfrom the fields\n%s", bk.name, i, withStatic, fields)
			}
		}
		if static == 0 {
			t.Fatalf("%s: no bid carried Static", bk.name)
		}
		t.Logf("%s: %d bids with Static", bk.name, static)
	}
}
