//go:build !race

package notice

import (
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/shading"
)

// nopSpender accepts every bill.
type nopSpender struct{}

func (nopSpender) Bill([]byte, uint64, float64, []byte, time.Time) (Charge, error) {
	return Charge{}, nil
}

// nopSink drops every notice.
type nopSink struct{}

func (nopSink) Notice(Event) {}

// billURIs returns n billing notice URIs with distinct bid ids, and
// minimums to win (their metrics allocate once, at the first).
func billURIs(n int) [][]byte {
	uris := make([][]byte, n)
	for i := range uris {
		uris[i] = fmt.Appendf(nil, "/bill?bid=%032x&cid=campaign-17&imp=1&uk=00000000deadbeef&cur=USD&price=%d.25&mtw=%d.5", i, i%50, i%40)
	}
	return uris
}

func TestServeBillZeroAlloc(t *testing.T) {
	h := New(Config{DedupeSlots: 1 << 14}, nopSpender{}, nopSink{})
	const runs = 1000
	serveBillsZeroAlloc(t, h, billURIs(2*runs+2), runs) // AllocsPerRun calls once more to warm up
}

// TestServeExplorationBillZeroAlloc: a bill that teaches an exchange's
// shading estimator (sx=1 with mtw) allocates nothing, its updates (one
// every 32 such wins) included.
func TestServeExplorationBillZeroAlloc(t *testing.T) {
	est := shading.New(shading.Config{Name: "alloc-sx", Start: 0.9, Min: 0.5, Explore: 0.05}, time.Now())
	est.Explored(2 * shading.MinBids)
	h := New(Config{DedupeSlots: 1 << 14, Exchanges: []string{"alloc-sx"}, Shading: map[string]*shading.Estimator{"alloc-sx": est}}, nopSpender{}, nopSink{})
	const runs = 1000
	uris := make([][]byte, 2*runs+2)
	for i := range uris {
		uris[i] = fmt.Appendf(nil, "/bill?bid=%032x&cid=campaign-17&imp=1&cur=USD&bp=%d.5&sx=1&x=alloc-sx&price=%d.5&mtw=%d.25", i, 10+i%50, 10+i%50, i%10)
	}
	serveBillsZeroAlloc(t, h, uris, runs)
	if st := est.State(); st.Learning || st.Wins < runs {
		t.Fatalf("estimator %+v after %d exploration bills; want them counted, and a factor learned", st, 2*runs+1)
	}
}

// TestServeSignedBillZeroAlloc: verifying the sig of a notice allocates
// nothing either.
func TestServeSignedBillZeroAlloc(t *testing.T) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{DedupeSlots: 1 << 14, Keys: keys}, nopSpender{}, nopSink{})
	const runs = 1000
	uris := make([][]byte, 2*runs+2)
	for i := range uris {
		q := openrtb.AppendNoticeQuery(nil, &openrtb.NoticeQuery{BidID: fmt.Appendf(nil, "%032x", i), CampaignID: []byte("campaign-17"), ImpID: []byte("1"), UserKey: 0xdeadbeef, Cur: []byte("USD"), BidPrice: []byte("40")})
		uris[i] = fmt.Appendf(nil, "/bill%s&sig=%016x&price=%d.25", q, keys[0].Sign(q), i%50)
	}
	serveBillsZeroAlloc(t, h, uris, runs)
}

// TestServeEncryptedBillZeroAlloc: decrypting an exchange's price
// allocates nothing either.
func TestServeEncryptedBillZeroAlloc(t *testing.T) {
	keys, err := ParsePriceKeys(googleKeys)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{DedupeSlots: 1 << 14, Exchanges: []string{"adx"}, PriceKeys: map[string]*PriceKeys{"adx": keys}}, nopSpender{}, nopSink{})
	const runs = 1000
	uris := make([][]byte, 2*runs+2)
	for i := range uris {
		uris[i] = fmt.Appendf(nil, "/bill?bid=%032x&cid=campaign-17&imp=1&cur=USD&x=adx&price=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemC32prpWWw", i)
	}
	serveBillsZeroAlloc(t, h, uris, runs)
}

// serveBillsZeroAlloc serves runs of uris with h to warm up, then
// measures the allocations of serving runs+1 more, each of which must be
// a first notice of its bid.
func serveBillsZeroAlloc(t *testing.T, h *Handler, uris [][]byte, runs int) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	i := 0
	serve := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURIBytes(uris[i])
		i++
		h.ServeBill(&ctx)
	}
	for range runs { // warm up the request buffers with ids not measured below
		serve()
	}
	ok0 := noticesTotal[KindBill][resultOK].Get()
	if n := testing.AllocsPerRun(runs, serve); n != 0 {
		t.Fatalf("ServeBill allocates %v times per notice; want 0", n)
	}
	if got := noticesTotal[KindBill][resultOK].Get() - ok0; got != uint64(runs+1) {
		t.Fatalf("measured %d fresh notices; want %d (ids must not repeat)", got, runs+1)
	}
}

func TestServeBillPostFormZeroAlloc(t *testing.T) {
	h := New(Config{DedupeSlots: 1 << 14}, nopSpender{}, nopSink{})
	const runs = 500
	bodies := make([][]byte, 2*runs+2)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, "bid=p%031x&cid=campaign-17&uk=00000000deadbeef&price=1.5", i)
	}
	var ctx fasthttp.RequestCtx
	i := 0
	serve := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI("/bill")
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		ctx.Request.SetBodyRaw(bodies[i])
		i++
		h.ServeBill(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusNoContent {
			panic("BUG: form notice refused")
		}
	}
	for range runs {
		serve()
	}
	if n := testing.AllocsPerRun(runs, serve); n != 0 {
		t.Fatalf("ServeBill with a form body allocates %v times per notice; want 0", n)
	}
}

func TestServeInvalidZeroAlloc(t *testing.T) {
	h := New(Config{DedupeSlots: 1 << 10}, nopSpender{}, nil)
	uri := []byte("/bill?bid=x&cid=c&price=${AUCTION_PRICE}")
	var ctx fasthttp.RequestCtx
	serve := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURIBytes(uri)
		h.ServeBill(&ctx)
	}
	serve()
	if n := testing.AllocsPerRun(100, serve); n != 0 {
		t.Fatalf("an unsubstituted notice allocates %v times; want 0", n)
	}
}

func TestRouteZeroAlloc(t *testing.T) {
	h := New(Config{DedupeSlots: 8}, nil, nil)
	path := []byte("/rtb/loss")
	if n := testing.AllocsPerRun(100, func() { _ = h.Route(path) }); n != 0 {
		t.Fatalf("Route allocates %v times; want 0", n)
	}
}
