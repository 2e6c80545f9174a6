package notice

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzServeBill checks that any query string or form body gets 204 or 400
// and never a panic, and that only a 204 may bill.
func FuzzServeBill(f *testing.F) {
	f.Add(goodQuery, "")
	f.Add("bid=a&cid=c&price=${AUCTION_PRICE}", "")
	f.Add("", "bid=a&cid=c&price=1e999&uk=zz")
	f.Add("bid=%ff%00&cid=%&price=.&loss=9", "bid=b&cid=c&price=0")
	f.Add("bid=a&bid=b&cid=c&price=1&price=-1", "cid=x")
	sp := &fakeSpender{}
	h := New(Config{DedupeSlots: 1 << 10}, sp, &fakeSink{})
	f.Fuzz(func(t *testing.T, query, form string) {
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
	})
}
