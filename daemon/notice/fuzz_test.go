package notice

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/openrtb"
	"github.com/rtbd/rtbd/daemon/shading"
)

// FuzzServeBill checks that any query string or form body gets 204 or 400
// and never a panic, and that only a 204 may bill, with notice keys (sig
// verified) and without.
func FuzzServeBill(f *testing.F) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(goodQuery, "")
	f.Add("bid=a&cid=c&price=${AUCTION_PRICE}", "")
	f.Add("", "bid=a&cid=c&price=1e999&uk=zz")
	f.Add("bid=%ff%00&cid=%&price=.&loss=9", "bid=b&cid=c&price=0")
	f.Add("bid=a&bid=b&cid=c&price=1&price=-1", "cid=x")
	f.Add("bid=a&cid=c&bp=2&price=3", "bp=x")
	f.Add("bid=a&cid=c&bp=2&bo=w&price=3", "bo=x")
	f.Add(signedQuery(&keys[0], "b 1", "1.5", func(q string) string { return q }), "sig=00")
	f.Add(signedQuery(&keys[0], "b 2", "1.5", func(q string) string { return strings.Replace(q, "&sig=", "&deal=pg&sig=", 1) }), "deal=x&sig=01")
	f.Add("bid=a&cid=c&x=adx&price=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw", "")
	f.Add("bid=a&cid=c&bp=0.01&price=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msa=", "x=adx")
	f.Add("bid=a&cid=c&price=2&mtw=1.5", "mtw=${AUCTION_MIN_TO_WIN}")
	f.Add("bid=a&cid=c&x=adx&price=2&mtw=YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw", "mtw=-0")
	f.Add("bid=a&cid=c&bp=1e-300&sx=1&x=adx&price=0&mtw=1e300", "sx=2")
	f.Add("bid=a&cid=c&bp=2&sx=1&price=2&mtw=1", "sx=")
	sp := &fakeSpender{}
	// Its "adx" exchange decrypts prices that are not decimals, and
	// learns its shading from sx=1 bills.
	h := New(Config{DedupeSlots: 1 << 10, Exchanges: []string{"adx"}, PriceKeys: map[string]*PriceKeys{"adx": mustPriceKeys(f, googleKeys)},
		Shading: map[string]*shading.Estimator{"adx": shading.New(shading.Config{Start: 1, Min: 0.5, Explore: 0.05}, time.Now())}}, sp, &fakeSink{})
	signed := New(Config{DedupeSlots: 1 << 10, Keys: keys}, sp, &fakeSink{})
	f.Fuzz(func(t *testing.T, query, form string) {
		serveBill(t, h, sp, query, form)
		serveBill(t, signed, sp, query, form)
	})
}

// serveBill serves a billing notice of query and form with h, which
// must answer 204 or 400, and bill only with a 204.
func serveBill(t *testing.T, h *Handler, sp *fakeSpender, query, form string) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI("/bill?" + query)
	ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
	ctx.Request.SetBodyString(form)
	before := sp.count()
	h.ServeBill(&ctx)
	code := ctx.Response.StatusCode()
	if code != 204 && code != 400 {
		t.Fatalf("unexpected status %d for %q / %q", code, query, form)
	}
	if code == 400 && sp.count() != before {
		t.Fatalf("a refused notice billed: %q / %q", query, form)
	}
}
