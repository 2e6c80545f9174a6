package decision

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/openrtb"
)

func TestRoundPrice(t *testing.T) {
	t.Parallel()
	f := func(p, floor, capC, want float64) {
		t.Helper()
		if got := roundPrice(p, floor, capC); got != want {
			t.Fatalf("roundPrice(%v, %v, %v) = %v; want %v", p, floor, capC, got, want)
		}
	}
	f(1.23456, 0, 10, 1.2346)
	f(1.23454, 0, 10, 1.2345)
	f(1.00004, 1.00004, 10, 1.0001) // rounding down would break the floor
	f(2, 1.5, 10, 2)
	// At the cap: 7.25 USD at 0.9234 is 6.69465 EUR; half up is over it.
	f(7.25*0.9234, 0, 7.25*0.9234, 6.6946)
	f(6.69465, 6.69461, 6.69465, 6.6947) // the floor wins within one step
	f(3, 0, 3, 3)                        // a cap on a step stays
}

// TestFloorsAndCurrency: USD campaigns (value 10, no model: score 1),
// rates EUR 0.9 and GBP 0.8 per USD.
func TestFloorsAndCurrency(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(bannerCampaign("c1", 10)), nil)
	f := func(name string, cur []string, floor float64, floorCur string, wantReason Reason, wantCur string, wantPrice float64) {
		t.Helper()
		r := bannerRequest()
		for _, c := range cur {
			r.Cur = append(r.Cur, []byte(c))
		}
		r.Imps[0].BidFloor, r.Imps[0].BidFloorCur = floor, []byte(floorCur)
		reason, resp, _ := decide(s, r, testNow)
		if reason != wantReason {
			t.Fatalf("%s: reason %s; want %s", name, reason, wantReason)
		}
		if reason != ReasonBid {
			return
		}
		if string(resp.Cur) != wantCur || math.Abs(resp.Bids[0].Price-wantPrice) > 1e-9 {
			t.Fatalf("%s: got %v %s; want %v %s", name, resp.Bids[0].Price, resp.Cur, wantPrice, wantCur)
		}
	}
	f("no cur means USD", nil, 0, "", ReasonBid, "USD", 10)
	f("our currency allowed", []string{"GBP", "USD"}, 0, "", ReasonBid, "USD", 10)
	f("GBP only", []string{"GBP"}, 0, "", ReasonBid, "GBP", 8)
	// 5 EUR = 5.5556 USD = 4.4444 GBP, below 8 GBP.
	f("EUR floor, GBP response", []string{"GBP"}, 5, "EUR", ReasonBid, "GBP", 8)
	// 9.5 EUR = 8.4444 GBP, above 8 GBP.
	f("EUR floor above price", []string{"GBP"}, 9.5, "EUR", ReasonBelowFloor, "", 0)
	f("USD floor equal to price", nil, 10, "USD", ReasonBid, "USD", 10)
	f("USD floor above price", nil, 10.0001, "", ReasonBelowFloor, "", 0)
	f("no rate for any cur", []string{"JPY"}, 0, "", ReasonCurrency, "", 0)
	f("codes of other lengths", []string{"USDX", "US", ""}, 0, "", ReasonCurrency, "", 0)
	f("no rate for the floor", nil, 1, "JPY", ReasonCurrency, "", 0)
}

func TestMaxCPMAndModel(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.MaxCPM = 4
	m := &campaign.Model{Version: campaign.ModelVersion, Buckets: 4, Bias: 0, Features: []string{"campaign"}, Weights: []float64{0, 0, 0, 0}}
	s := mustCompile(t, testFile(c), m)
	reason, resp, tr := decide(s, bannerRequest(), testNow)
	// score sigmoid(0) = 0.5: 10 x 0.5 = 5, capped at 4.
	if reason != ReasonBid || resp.Bids[0].Price != 4 {
		t.Fatalf("reason %s, bids %+v; want a price of 4", reason, resp.Bids)
	}
	if tr.Campaigns[0].Score != 0.5 {
		t.Fatalf("trace score %v; want 0.5", tr.Campaigns[0].Score)
	}
}

// TestModelFeatureStrings checks the documented feature strings: a model
// with one heavy bucket scores high only when that bucket is hit.
func TestModelFeatureStrings(t *testing.T) {
	t.Parallel()
	const buckets = 1 << 16
	f := func(family, feature string) {
		t.Helper()
		m := &campaign.Model{Version: campaign.ModelVersion, Buckets: buckets, Features: []string{family}, Weights: make([]float64, buckets)}
		h := xxhashString(feature)
		if left, right, cross := strings.Cut(feature, " x "); cross {
			h = crossHashBytes(xxhashString(left), xxhashString(right))
		}
		m.Weights[h&(buckets-1)] = 3
		c := bannerCampaign("c1", 10)
		s := mustCompile(t, testFile(c), m)
		r := bannerRequest()
		_, resp, _ := decide(s, r, testNow)
		if len(resp.Bids) != 1 || resp.Bids[0].Price < 9 {
			t.Fatalf("%s: bids %+v; want the weight of %q to raise the price above 9", family, resp.Bids, feature)
		}
	}
	f("campaign", "campaign=c1")
	f("creative", "creative=c1-cr")
	f("publisher", "publisher=pub-1")
	f("domain", "domain=example.com")
	f("devicetype", "devicetype=2")
	f("os", "os=windows")
	f("country", "country=USA")
	f("hour", "hour=6")
	f("media", "media=banner")
	// A cross feature hashes the 16 bytes of its halves' hashes.
	f("campaign_x_domain", "campaign=c1 x domain=example.com")
	f("campaign_x_devicetype", "campaign=c1 x devicetype=2")
}

func TestResponseFields(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Seat = "seat-9"
	c.Bundle = "com.c1.app"
	c.Creatives[0].Attr = []int{1}
	s := mustCompile(t, testFile(c), nil)
	r := bannerRequest()
	r.Test = true
	reason, resp, _ := decide(s, r, testNow)
	if reason != ReasonBid {
		t.Fatalf("reason %s; want bid", reason)
	}
	b := &resp.Bids[0]
	if string(resp.ID) != "req-1" || string(b.Seat) != "seat-9" || string(resp.NoticeBase) != "https://n.example/" ||
		string(resp.BidID) != string(b.ID) {
		t.Fatalf("bad response header %+v", resp)
	}
	if string(b.ImpID) != "1" || string(b.CrID) != "c1-cr" || string(b.AdID) != "c1-cr" || string(b.CampaignID) != "c1" ||
		b.MType != 1 || b.W != 300 || b.H != 250 || string(b.ADomain[0]) != "c1.example" || string(b.Cat[0]) != "IAB1" ||
		b.Attr[0] != 1 || string(b.AdM) != "<b>c1</b>" || string(b.Bundle) != "com.c1.app" || b.UserKey != UserKey(r) || b.UserKey == 0 {
		t.Fatalf("bad bid %+v", b)
	}
	if !IsTestBidID(b.ID) || string(b.ID[:3]) != "h1-" {
		t.Fatalf("bid id %q: want host prefix and a test marker", b.ID)
	}
	r.Test = false
	_, resp2, _ := decide(s, r, testNow)
	if IsTestBidID(resp2.Bids[0].ID) || string(resp2.Bids[0].ID) == string(b.ID) {
		t.Fatalf("second bid id %q: want a new non-test id (first %q)", resp2.Bids[0].ID, b.ID)
	}
}

// TestBidSeats: each bid carries its own campaign's seat, so that a
// response with bids of two buyers bills each to the right one.
func TestBidSeats(t *testing.T) {
	t.Parallel()
	a, b := bannerCampaign("a", 10), bannerCampaign("b", 5)
	a.Seat, b.Seat = "seat-a", "seat-b"
	b.Creatives[0].W, b.Creatives[0].H = 728, 90
	s := mustCompile(t, testFile(a, b), nil)
	r := bannerRequest()
	r.Imps = append(r.Imps, openrtb.Imp{ID: []byte("2"), Media: openrtb.MediaBanner,
		Banner: openrtb.Banner{W: 728, H: 90, Formats: []openrtb.Format{{W: 728, H: 90}}}})
	reason, resp, _ := decide(s, r, testNow)
	if reason != ReasonBid || len(resp.Bids) != 2 {
		t.Fatalf("reason %s with %d bids; want a bid on each imp", reason, len(resp.Bids))
	}
	for _, bid := range resp.Bids {
		if want := "seat-" + string(bid.CampaignID); string(bid.Seat) != want {
			t.Fatalf("bid of campaign %s on seat %q, want %q", bid.CampaignID, bid.Seat, want)
		}
	}
}

func TestUserKey(t *testing.T) {
	t.Parallel()
	f := func(r *openrtb.Request, want string) {
		t.Helper()
		got := UserKey(r)
		if want == "" && got != 0 || want != "" && got != xxhashString(want) {
			t.Fatalf("UserKey = %x; want the hash of %q", got, want)
		}
	}
	r := &openrtb.Request{}
	f(r, "")
	r.Device.IFA = []byte("ifa")
	f(r, "ifa")
	r.User.EIDs = []openrtb.EID{{Source: []byte("s")}, {Source: []byte("t"), UID: []byte("eid")}}
	f(r, "eid")
	r.User.BuyerUID = []byte("buyer")
	f(r, "buyer")
	r.User.ID = []byte("uid")
	f(r, "uid")

	// Ids of zeros are what a device that limits ad tracking sends: no
	// user, whichever field has them.
	z := &openrtb.Request{}
	z.Device.IFA = []byte("00000000-0000-0000-0000-000000000000")
	f(z, "")
	z.User.ID, z.User.BuyerUID = []byte("0"), []byte("--")
	z.User.EIDs = []openrtb.EID{{Source: []byte("s"), UID: []byte("000")}}
	f(z, "")
	z.Device.IFA = []byte("00000000-0000-0000-0000-000000000001")
	f(z, "00000000-0000-0000-0000-000000000001")
	z.User.EIDs[0].UID = []byte("0a")
	f(z, "0a")
}

func TestReasons(t *testing.T) {
	t.Parallel()
	f := func(r Reason, name string, nbr int) {
		t.Helper()
		if r.String() != name || r.NBR() != nbr {
			t.Fatalf("%d: got %s/%d; want %s/%d", r, r.String(), r.NBR(), name, nbr)
		}
	}
	f(ReasonBid, "bid", 0)
	f(ReasonNoCandidates, "no_candidates", 0)
	f(ReasonFreqCap, "freq_cap", 9)
	f(ReasonDeadline, "deadline", 15)
	f(ReasonInvalid, "invalid", 2)
	f(ReasonNoConsent, "no_consent", 0)
	f(ReasonDeadman, "deadman", 1)
	f(ReasonDuplicate, "duplicate", 0)
	// Event logs store the numbers: the ones written before must keep
	// their meaning.
	if ReasonNoConsent != 9 || ReasonDeadman != 10 || ReasonDuplicate != 11 {
		t.Fatalf("reason numbers moved: no_consent %d, deadman %d, duplicate %d", ReasonNoConsent, ReasonDeadman, ReasonDuplicate)
	}
	f(Reason(200), "unknown", 0)
}

func TestDecideInvalidAndDeadline(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(bannerCampaign("c1", 10)), nil)
	if r, _, _ := decide(s, &openrtb.Request{ID: []byte("x")}, testNow); r != ReasonInvalid {
		t.Fatalf("no imps: reason %s; want invalid", r)
	}
	c := AcquireCtx()
	defer ReleaseCtx(c)
	c.Deadline = timeNow().Add(-1)
	resp := &openrtb.Response{}
	if r := s.Decide(c, bannerRequest(), testNow, resp); r != ReasonDeadline || len(resp.Bids) != 0 {
		t.Fatalf("deadline passed: reason %s with %d bids; want deadline", r, len(resp.Bids))
	}
	c.Deadline = timeNow().Add(1e12)
	if r := s.Decide(c, bannerRequest(), testNow, resp); r != ReasonBid {
		t.Fatalf("deadline ahead: reason %s; want bid", r)
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	f := func(name string, file *campaign.File, m *campaign.Model, opt Options) {
		t.Helper()
		if _, err := Compile(file, m, NewState(0), opt); err == nil {
			t.Fatalf("%s: Compile succeeded; want an error", name)
		}
	}
	ok := testFile(bannerCampaign("c1", 1))
	f("unknown bid currency", ok, nil, Options{Currency: "JPY"})
	f("bad rate", ok, nil, Options{Rates: map[string]float64{"EUR": -1}})
	f("unknown file currency", &campaign.File{Currency: "JPY", Campaigns: ok.Campaigns}, nil, Options{})
	f("duplicate id", testFile(bannerCampaign("c1", 1), bannerCampaign("c1", 2)), nil, Options{})
	f("zero value", testFile(bannerCampaign("c1", 0)), nil, Options{})
	f("bad buckets", ok, &campaign.Model{Buckets: 3, Weights: make([]float64, 3)}, Options{})
	f("unknown family", ok, &campaign.Model{Buckets: 1, Weights: make([]float64, 1), Features: []string{"x"}}, Options{})
	bad := bannerCampaign("c1", 1)
	bad.Creatives[0].Type = "popup"
	f("unknown creative type", testFile(bad), nil, Options{})
}

// TestDealFloors: a deal bid faces the deal's floor (in its currency), an
// open bid the imp's.
func TestDealFloors(t *testing.T) {
	t.Parallel()
	deal := bannerCampaign("deal", 10)
	deal.Deals, deal.DealsOnly = []string{"d1"}, true
	open := bannerCampaign("open", 12)
	s := mustCompile(t, testFile(deal, open), nil)
	r := bannerRequest()
	r.Imps[0].BidFloor = 20                                                                             // above both campaigns
	r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte("d1"), BidFloor: 8.1, BidFloorCur: []byte("EUR")}} // 9 USD
	reason, resp, tr := decide(s, r, testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].DealID) != "d1" || resp.Bids[0].Price != 10 {
		t.Fatalf("reason %s, bids %+v; want the deal bid at 10", reason, resp.Bids)
	}
	if got := traceFilter(tr, "open"); got != "below_floor" {
		t.Fatalf("open campaign filter %q; want below_floor", got)
	}
	// Pruned (untraced), the scan's cut starts at the deal's floor, the
	// lowest an option faces, not at the imp's.
	c := AcquireCtx()
	defer ReleaseCtx(c)
	var pruned openrtb.Response
	if reason := s.Decide(c, r, testNow, &pruned); reason != ReasonBid || len(pruned.Bids) != 1 || pruned.Bids[0].Price != 10 {
		t.Fatalf("pruned: reason %s, bids %+v; want the deal bid at 10", reason, pruned.Bids)
	}
	r.Imps[0].PMP.Deals[0].BidFloor = 9.1 // 10.11 USD
	if reason, _, _ := decide(s, r, testNow); reason != ReasonBelowFloor {
		t.Fatalf("deal floor above price: reason %s; want below_floor", reason)
	}
}

// TestMultiFormatImp: an imp offering banner and video gets the best bid
// of either, with the matching mtype.
func TestMultiFormatImp(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(bannerCampaign("b", 5), videoCampaign("v", "v.com", "IAB2", 9, 15)), nil)
	r := bannerRequest()
	v := videoImp("1").Video
	r.Imps[0].Video, r.Imps[0].Media = v, openrtb.MediaBanner|openrtb.MediaVideo
	reason, resp, _ := decide(s, r, testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].CampaignID) != "v" || resp.Bids[0].MType != 2 || resp.Bids[0].Dur != 15 {
		t.Fatalf("reason %s, bids %+v; want one video bid", reason, resp.Bids)
	}
}

func TestEmptyBook(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(), nil)
	if s.Campaigns() != 0 {
		t.Fatalf("Campaigns() = %d", s.Campaigns())
	}
	if r, _, _ := decide(s, bannerRequest(), testNow); r != ReasonNoCandidates {
		t.Fatalf("reason %s; want no_candidates", r)
	}
}

func TestTraceJSON(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 5)
	c.Targeting.Countries = []string{"GBR"}
	s := mustCompile(t, testFile(c, bannerCampaign("c2", 4)), nil)
	_, _, tr := decide(s, bannerRequest(), testNow)
	got := string(tr.AppendJSON([]byte("x")))
	want := `x{"campaigns":[{"imp":"1","media":"banner","campaign":"c1","filter":"country"},` +
		`{"imp":"1","media":"banner","campaign":"c2","score":1,"price":4}],` +
		`"bids":[{"imp":"1","campaign":"c2","creative":"c2-cr","price":4}]}`
	if got != want {
		t.Fatalf("trace JSON\n%s\nwant\n%s", got, want)
	}
}

// TestAuctionTypes: a campaign of value 10 (no model: score 1) against a
// floor of 2, with first-price shading 0.8. First price ("at" 1) shades,
// never below the floor; second price ("at" 2, or none) bids the value; a
// fixed-price deal ("at" 3) is bid at its floor, the agreed price; a
// deal's own auction type overrides the request's. A request's own
// factor (Ctx.Shade, its exchange's) replaces the snapshot's, and
// exploring (Ctx.Explore) bids its open auction unshaded.
func TestAuctionTypes(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c1", 10)
	c.Deals = []string{"d1"}
	opts := testOptions
	opts.FirstPriceShading = 0.8
	s, err := Compile(testFile(c), nil, NewState(1024), opts)
	if err != nil {
		t.Fatal(err)
	}
	unshaded := mustCompile(t, testFile(c), nil)
	shade, explore := 0.0, false // Ctx.Shade and Explore
	f := func(name string, s *Snapshot, at int, floor float64, deal *openrtb.Deal, wantReason Reason, want float64) {
		t.Helper()
		r := bannerRequest()
		r.AT = at
		r.Imps[0].BidFloor = floor
		if deal != nil {
			r.Imps[0].PMP.Deals = []openrtb.Deal{*deal}
		}
		resp := &openrtb.Response{}
		reason := s.Decide(&Ctx{Shade: shade, Explore: explore, Trace: &Trace{}}, r, testNow, resp)
		if reason != wantReason {
			t.Fatalf("%s: reason %s; want %s", name, reason, wantReason)
		}
		if reason == ReasonBid && math.Abs(resp.Bids[0].Price-want) > 1e-9 {
			t.Fatalf("%s: price %v; want %v", name, resp.Bids[0].Price, want)
		}
	}
	f("second price", s, 2, 2, nil, ReasonBid, 10)
	f("no at: second price", s, 0, 2, nil, ReasonBid, 10)
	f("first price, shaded", s, 1, 2, nil, ReasonBid, 8)
	f("first price, shaded to the floor", s, 1, 9, nil, ReasonBid, 9)
	f("first price, below floor unshaded too", s, 1, 10.5, nil, ReasonBelowFloor, 0)
	f("first price, no shading configured", unshaded, 1, 2, nil, ReasonBid, 10)
	f("fixed-price deal", s, 1, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 4, AT: 3}, ReasonBid, 4)
	// Above its maxCpm, the deal is passed over for the open auction.
	f("fixed-price deal above the value", s, 1, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 12, AT: 3}, ReasonBid, 8)
	f("second-price deal in a first-price request", s, 1, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 3, AT: 2}, ReasonBid, 10)
	f("first-price deal in a second-price request", s, 2, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 3, AT: 1}, ReasonBid, 8)
	f("deal without at: the request's", s, 1, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 3}, ReasonBid, 8)

	shade = 0.6
	f("the request's factor", s, 1, 2, nil, ReasonBid, 6)
	f("the request's factor, not below the floor", s, 1, 7, nil, ReasonBid, 7)
	f("the request's factor without shading configured", unshaded, 1, 2, nil, ReasonBid, 6)
	f("the request's factor in a first-price deal", s, 2, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 3, AT: 1}, ReasonBid, 6)
	f("the request's factor, second price", s, 2, 2, nil, ReasonBid, 10)
	explore = true
	f("exploring: the open auction unshaded", s, 1, 2, nil, ReasonBid, 10)
	f("exploring: a first-price deal still shaded", s, 1, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 3, AT: 1}, ReasonBid, 6)
	f("exploring: a deal without at still shaded", s, 1, 2, &openrtb.Deal{ID: []byte("d1"), BidFloor: 3}, ReasonBid, 6)
	f("exploring a second-price request", s, 2, 2, nil, ReasonBid, 10)
}

// TestDurationFloors: OpenRTB 2.6 floor guidance by duration (section
// 7.11). A campaign of value 20 (no model: score 1) with a 30 s and a
// 15 s creative, the 30 s one first: of equal prices the first is kept,
// so a bid of the 15 s one shows that the 30 s one's floor was higher.
func TestDurationFloors(t *testing.T) {
	t.Parallel()
	v := videoCampaign("v", "v.com", "IAB1", 20, 30, 15)
	v.Deals = []string{"d1"}
	a := audioCampaign("a", "a.com", "IAB2", 20, 30, 15)
	s := mustCompile(t, testFile(v, a), nil)
	tiers := []openrtb.DurFloor{{MaxDur: 15, BidFloor: 5}, {MinDur: 16, BidFloor: 25}}
	f := func(name string, imp openrtb.Imp, wantReason Reason, wantDur int, wantPrice float64) {
		t.Helper()
		reason, resp, _ := decide(s, ctvRequest(imp), testNow)
		if reason != wantReason {
			t.Fatalf("%s: reason %s, bids %+v; want %s", name, reason, resp.Bids, wantReason)
		}
		if reason == ReasonBid && (resp.Bids[0].Dur != wantDur || math.Abs(resp.Bids[0].Price-wantPrice) > 1e-9) {
			t.Fatalf("%s: bid of %d s at %v; want %d s at %v", name, resp.Bids[0].Dur, resp.Bids[0].Price, wantDur, wantPrice)
		}
	}
	video := videoImp("1")
	f("no duration floors", video, ReasonBid, 30, 20)
	video.Video.DurFloors = tiers
	f("video durfloors", video, ReasonBid, 15, 20)
	video.BidFloor = 21
	f("the imp's bidfloor still holds", video, ReasonBelowFloor, 0, 0)
	video.BidFloor, video.BidFloorCur = 0, []byte("EUR")
	video.Video.DurFloors = []openrtb.DurFloor{{MinDur: 30, MaxDur: 30, BidFloor: 18.9}} // 21 USD
	f("durfloors in the imp's currency, both ends included", video, ReasonBid, 15, 20)

	audio := audioImp("1")
	audio.Audio.DurFloors = tiers
	f("audio durfloors", audio, ReasonBid, 15, 20)
	audio.Audio.DurFloors = nil
	audio.Audio.MinCPMPerSec = 1 // 30 s needs 30
	f("audio mincpmpersec", audio, ReasonBid, 15, 20)

	// A deal's own guidance replaces the imp's: a fixed-price deal priced
	// by duration bids its tier's price, whatever video.mincpmpersec says.
	deal := videoImp("1")
	deal.Video.MinCPMPerSec = 1 // 30 s needs 30, 15 s 15
	deal.PMP.Deals = []openrtb.Deal{{ID: []byte("d1"), AT: 3, DurFloors: []openrtb.DurFloor{{MaxDur: 20, BidFloor: 3}, {MinDur: 21, BidFloor: 4}}}}
	f("fixed-price deal by duration", deal, ReasonBid, 30, 4)
	deal.PMP.Deals[0].DurFloors = nil
	deal.PMP.Deals[0].MinCPMPerSec = 0.5 // 30 s: 15
	f("fixed-price deal per second", deal, ReasonBid, 30, 15)
	deal.Video.MinCPMPerSec = 0
	f("fixed-price deal per second, none in video", deal, ReasonBid, 30, 15)
	// A deal without floor guidance takes the imp's.
	deal.PMP.Deals[0] = openrtb.Deal{ID: []byte("d1")}
	deal.Video.MinCPMPerSec = 1
	f("deal without floors: video's", deal, ReasonBid, 15, 20)
	deal.BidFloor, deal.Video.MinCPMPerSec = 20.5, 0
	f("deal without floors: the imp's", deal, ReasonBelowFloor, 0, 0)

	// Pod slots that differ in durfloors alone are scanned apart: s2 has
	// no 30 s spot under 25, so w's goes to s1 and v's 15 s one to s2.
	w := videoCampaign("w", "w.com", "IAB3", 19, 30)
	pods := mustCompile(t, testFile(v, w), nil)
	s1, s2 := videoImp("s1"), videoImp("s2")
	s1.Video.PodID, s2.Video.PodID = []byte("p"), []byte("p")
	s2.Video.DurFloors = tiers
	reason, resp, _ := decide(pods, ctvRequest(s1, s2), testNow)
	got := map[string]string{}
	for _, b := range resp.Bids {
		got[string(b.ImpID)] = fmt.Sprintf("%s %d s", b.CampaignID, b.Dur)
	}
	if want := map[string]string{"s1": "w 30 s", "s2": "v 15 s"}; reason != ReasonBid || !maps.Equal(got, want) {
		t.Fatalf("pod: reason %s, bids %v; want %v", reason, got, want)
	}
}

// TestOpenBesideDeal: with Options.OpenBesideDeal an imp with a deal and
// an open auction gets the best deal bid and the best open bid (OpenRTB's
// "M+N"), from two campaigns; a private auction gets the deal bid only.
func TestOpenBesideDeal(t *testing.T) {
	t.Parallel()
	deal := bannerCampaign("deal", 10)
	deal.Deals = []string{"d1"}
	opts := testOptions
	opts.OpenBesideDeal = true
	s, err := Compile(testFile(deal, bannerCampaign("open", 12), bannerCampaign("second", 11)), nil, NewState(1024), opts)
	if err != nil {
		t.Fatal(err)
	}
	single := mustCompile(t, testFile(deal, bannerCampaign("open", 12), bannerCampaign("second", 11)), nil)
	f := func(name string, s *Snapshot, pa int, want ...string) {
		t.Helper()
		r := bannerRequest()
		r.Imps[0].BidFloor = 5
		r.Imps[0].PMP = openrtb.PMP{PrivateAuction: pa, Deals: []openrtb.Deal{{ID: []byte("d1"), BidFloor: 8}}}
		c := AcquireCtx()
		defer ReleaseCtx(c)
		var pruned openrtb.Response
		s.Decide(c, r, testNow, &pruned)
		_, exhaustive, _ := decide(s, r, testNow)
		for _, resp := range []*openrtb.Response{&pruned, exhaustive} {
			var got []string
			for _, b := range resp.Bids {
				got = append(got, fmt.Sprintf("%s %s %g", b.CampaignID, b.DealID, b.Price))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: bids %q; want %q", name, got, want)
			}
		}
	}
	f("deal and open", s, 0, "deal d1 10", "open  12")
	f("private auction", s, 1, "deal d1 10")
	f("one bid without the option", single, 0, "open  12")
	deal.Value, deal.MaxCPM = 15, 15
	s, err = Compile(testFile(deal, bannerCampaign("open", 12)), nil, NewState(1024), opts)
	if err != nil {
		t.Fatal(err)
	}
	f("the deal bid the best", s, 0, "deal d1 15", "open  12")
}

// TestDealFloorWithoutCurrency: a deal floor without bidfloorcur is read
// in USD (the spec's default) or in the imp's bidfloorcur, whichever is
// higher: IAB's own 2.6 example prices a GBP request's deal that way,
// and an exchange that reads it so rejects a bid below it (the protocol
// audit: 4 GBP bid on a deal of 4.5).
func TestDealFloorWithoutCurrency(t *testing.T) {
	t.Parallel()
	deal := bannerCampaign("deal", 5) // USD: 4 GBP
	deal.Deals, deal.DealsOnly = []string{"123"}, true
	s := mustCompile(t, testFile(deal), nil)
	r := bannerRequest()
	r.Cur = [][]byte{[]byte("GBP")}
	r.Imps[0].BidFloor, r.Imps[0].BidFloorCur = 1, []byte("GBP")
	r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte("123"), BidFloor: 4.5}} // 3.6 GBP in USD
	if reason, resp, _ := decide(s, r, testNow); reason != ReasonBelowFloor {
		t.Fatalf("deal floor 4.5 without a currency in a GBP imp: reason %s, bids %+v; want below_floor", reason, resp.Bids)
	}
	r.Imps[0].PMP.Deals[0].BidFloor = 3.5 // 3.5 GBP, 2.8 in USD
	reason, resp, _ := decide(s, r, testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || resp.Bids[0].Price < 3.5 {
		t.Fatalf("deal floor 3.5: reason %s, bids %+v; want a bid of at least 3.5 GBP", reason, resp.Bids)
	}
	// With no imp currency either, USD it is.
	r.Cur, r.Imps[0].BidFloorCur, r.Imps[0].PMP.Deals[0].BidFloor = nil, nil, 5.5
	if reason, _, _ := decide(s, r, testNow); reason != ReasonBelowFloor {
		t.Fatalf("deal floor 5.5 USD: reason %s; want below_floor", reason)
	}
}

// TestUnreachableDealLeavesOpenBid: a campaign that may bid in the open
// auction is not held to a deal it lists whose floor is above the most it
// bids (maxCpm): it bids in the open auction, as it would without the
// deal (the protocol audit: it bid nothing). A deals-only campaign still
// does not.
func TestUnreachableDealLeavesOpenBid(t *testing.T) {
	t.Parallel()
	c := bannerCampaign("c", 5)
	c.Deals = []string{"D"}
	s := mustCompile(t, testFile(c), nil)
	r := bannerRequest()
	r.Imps[0].BidFloor = 1
	r.Imps[0].PMP.Deals = []openrtb.Deal{{ID: []byte("D"), BidFloor: 10}}
	reason, resp, tr := decide(s, r, testNow)
	if reason != ReasonBid || len(resp.Bids) != 1 || len(resp.Bids[0].DealID) != 0 || resp.Bids[0].Price != 5 {
		t.Fatalf("deal floor 10 over maxCpm 5: reason %s, bids %+v, trace %+v; want an open bid of 5", reason, resp.Bids, tr.Campaigns)
	}
	r.Imps[0].PMP.Deals[0].BidFloor = 4
	if reason, resp, _ := decide(s, r, testNow); reason != ReasonBid || len(resp.Bids) != 1 || string(resp.Bids[0].DealID) != "D" {
		t.Fatalf("deal floor 4: reason %s, bids %+v; want the deal bid", reason, resp.Bids)
	}
	c.DealsOnly = true
	s = mustCompile(t, testFile(c), nil)
	r.Imps[0].PMP.Deals[0].BidFloor = 10
	if reason, _, _ := decide(s, r, testNow); reason == ReasonBid {
		t.Fatal("a deals-only campaign bid beside a deal it cannot reach")
	}
}
