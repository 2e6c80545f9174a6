package decision

import (
	"math"
	"reflect"
	"testing"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// TestValueFilter: a value added is found in any ASCII case; the empty
// filter and a value with another key are rejected.
func TestValueFilter(t *testing.T) {
	t.Parallel()
	var f valueFilter
	f.add([]byte("IAB1"))
	f.add([]byte("Brand.COM"))
	found := func(v string, want bool) {
		t.Helper()
		if got := f.mayHave([]byte(v)); got != want {
			t.Fatalf("unexpected mayHave(%q); got %v; want %v", v, got, want)
		}
	}
	found("IAB1", true)
	found("iab1", true)
	found("brand.com", true)
	found("BRAND.COM", true)
	for _, v := range []string{"IAB25-3", "x", "another.example"} {
		if filterKey([]byte(v)) != filterKey([]byte("IAB1")) && filterKey([]byte(v)) != filterKey([]byte("brand.com")) {
			found(v, false)
		}
	}
	var empty valueFilter
	if empty.mayHave([]byte("IAB1")) {
		t.Fatalf("an empty filter admits a value")
	}
}

// TestSigmoidCache: the memo returns exactly sigmoid, also when
// arguments that share a slot alternate.
func TestSigmoidCache(t *testing.T) {
	t.Parallel()
	var sc sigmoidCache
	f := func(x float64) {
		t.Helper()
		got, want := sc.sigmoid(x), sigmoid(x)
		if math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want) {
			t.Fatalf("unexpected sigmoid(%v); got %v; want %v", x, got, want)
		}
	}
	for round := 0; round < 3; round++ {
		for i := -2000; i <= 2000; i++ {
			f(float64(i) / 97) // 4001 arguments over 256 slots
		}
		f(0)
		f(-800) // sigmoid underflows to 0: never cached
		f(math.Inf(1))
		f(math.NaN())
	}
}

// TestDecideClearsReusedBids: Decide writes into a Response whose Bids
// were truncated without Reset; no field of the stale bids survives.
func TestDecideClearsReusedBids(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, testFile(bannerCampaign("a", 2)), nil)
	stale := openrtb.Bid{DealID: []byte("stale"), Dur: 30, SlotInPod: 2, W: 1, H: 1, ADomain: [][]byte{[]byte("x")}}
	resp := &openrtb.Response{Bids: []openrtb.Bid{stale, stale}}
	resp.Bids = resp.Bids[:0]
	c := AcquireCtx()
	defer ReleaseCtx(c)
	req := bannerRequest()
	req.Imps[0].Banner.Formats = nil // the bid takes the creative's size
	if r := s.Decide(c, req, testNow, resp); r != ReasonBid || len(resp.Bids) != 1 {
		t.Fatalf("got %s with %d bids; want one bid", r, len(resp.Bids))
	}
	b := &resp.Bids[0]
	if len(b.DealID) != 0 || b.Dur != 0 || b.SlotInPod != 0 || b.W != 300 || len(b.ADomain) != 1 || string(b.ADomain[0]) != "a.example" {
		t.Fatalf("stale fields in the bid: %+v", b)
	}
	// A second Decide reuses the bid it just wrote.
	if r := s.Decide(c, req, testNow, resp); r != ReasonBid || len(resp.Bids) != 1 || len(resp.Bids[0].DealID) != 0 {
		t.Fatalf("second decision: %s %+v", r, resp.Bids)
	}
}

// TestDecideOverwritesEveryBidField: emit reuses Bids without clearing
// them first; a bid decided into a Bid with every field set (by
// reflection, so that a field added to openrtb.Bid is covered) equals one
// decided into a fresh Response, and the stale bids past the response's
// end are cleared.
func TestDecideOverwritesEveryBidField(t *testing.T) {
	t.Parallel()
	video := videoCampaign("v", "v.example", "IAB2", 8, 15, 30)
	video.Deals = []string{"d1"}
	s := mustCompile(t, testFile(bannerCampaign("a", 2), video), nil)
	garbage := func() openrtb.Bid {
		var b openrtb.Bid
		v := reflect.ValueOf(&b).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Slice:
				if f.Type().Elem().Kind() == reflect.Uint8 {
					f.SetBytes([]byte("stale"))
				} else if f.Type().Elem().Kind() == reflect.Int {
					f.Set(reflect.ValueOf([]int{99}))
				} else {
					f.Set(reflect.ValueOf([][]byte{[]byte("stale")}))
				}
			case reflect.Int:
				f.SetInt(77)
			case reflect.Uint64:
				f.SetUint(77)
			case reflect.Float64:
				f.SetFloat(77)
			case reflect.Bool:
				f.SetBool(true)
			default:
				t.Fatalf("openrtb.Bid.%s: no garbage for kind %s", v.Type().Field(i).Name, f.Kind())
			}
		}
		return b
	}
	norm := func(b openrtb.Bid) openrtb.Bid {
		b.ID = nil // a new sequence number each time
		v := reflect.ValueOf(&b).Elem()
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.Slice && f.Len() == 0 {
				f.Set(reflect.Zero(f.Type()))
			}
		}
		return b
	}
	banner := bannerRequest()
	banner.Imps[0].Banner.Formats = nil
	pod := ctvRequest(videoImp("1"), videoImp("2"))
	for i := range pod.Imps {
		pod.Imps[i].Video.Pod.PodID = []byte("p")
		pod.Imps[i].Video.Pod.SlotInPod = i + 1
		pod.Imps[i].PMP.Deals = []openrtb.Deal{{ID: []byte("d1"), BidFloor: 1}}
	}
	for _, req := range []*openrtb.Request{banner, pod} {
		want := &openrtb.Response{}
		if r := s.Decide(&Ctx{}, req, testNow, want); r != ReasonBid {
			t.Fatalf("fresh: %s", r)
		}
		resp := &openrtb.Response{Bids: []openrtb.Bid{garbage(), garbage(), garbage(), garbage()}}
		if r := s.Decide(&Ctx{}, req, testNow, resp); r != ReasonBid || len(resp.Bids) != len(want.Bids) {
			t.Fatalf("reused: %s with %d bids, want %d", r, len(resp.Bids), len(want.Bids))
		}
		for i := range want.Bids {
			if got, w := norm(resp.Bids[i]), norm(want.Bids[i]); !reflect.DeepEqual(got, w) {
				t.Fatalf("bid %d decided into a used Bid:\n%+v\nwant\n%+v", i, got, w)
			}
		}
		for i, b := range resp.Bids[len(resp.Bids):4] {
			if !reflect.DeepEqual(norm(b), openrtb.Bid{}) {
				t.Fatalf("stale bid %d past the response not cleared: %+v", len(resp.Bids)+i, b)
			}
		}
	}
}
