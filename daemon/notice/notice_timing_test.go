package notice

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/openrtb"
)

// benchSink keeps the last status so the compiler cannot drop the work.
var benchSink atomic.Int64

// benchSpender accepts every bill.
type benchSpender struct{}

func (benchSpender) Bill([]byte, uint64, float64, []byte, time.Time) (Charge, error) {
	return Charge{}, nil
}

var benchIDs atomic.Uint64

// benchNotices runs serve over the billing notice URIs that appendURI
// writes, with a fresh bid id per call, built into a reused buffer.
func benchNotices(b *testing.B, serve fasthttp.RequestHandler, appendURI func([]byte, uint64) []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(appendURI(nil, 1<<40))))
	b.ResetTimer() // exclude New's dedupe table
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		var uri []byte
		for pb.Next() {
			uri = appendURI(uri[:0], benchIDs.Add(1))
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURIBytes(uri)
			serve(&ctx)
			benchSink.Store(int64(ctx.Response.StatusCode()))
		}
	})
}

// appendBillURI appends a billing notice URI for bid id n to dst.
func appendBillURI(dst []byte, n uint64) []byte {
	dst = append(dst, "/bill?bid=bid-"...)
	dst = strconv.AppendUint(dst, n, 16)
	return append(dst, "&cid=campaign-17&imp=1&uk=00000000deadbeef&cur=USD&price=1.25"...)
}

func BenchmarkServeBill(b *testing.B) {
	h := New(Config{}, benchSpender{}, nil)
	benchNotices(b, h.ServeBill, appendBillURI)
}

// BenchmarkServeBillSigned serves billing notices as rtbd's bids' URLs
// have them, for a deal bid on an exchange, signed and verified. Each
// URI is signed in the loop too, as the bid path does (15-85 ns).
func BenchmarkServeBillSigned(b *testing.B) {
	keys, err := openrtb.ParseNoticeKeys("000102030405060708090a0b0c0d0e0f")
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{Keys: keys, RequireSigned: true, Exchanges: []string{"ssp-1"}}, benchSpender{}, nil)
	benchNotices(b, h.ServeBill, func(dst []byte, n uint64) []byte {
		var id [16]byte
		dst = append(dst, "/bill"...)
		q := len(dst)
		dst = openrtb.AppendNoticeQuery(dst, &openrtb.NoticeQuery{
			BidID: strconv.AppendUint(id[:0], n, 16), CampaignID: []byte("campaign-17"), ImpID: []byte("1"), UserKey: 0xdeadbeef,
			Cur: []byte("USD"), BidPrice: []byte("1.5"), Exchange: []byte("ssp-1"), Deal: []byte("pg-deal-7"), WithDeal: true,
		})
		dst = append(dst, "&sig="...)
		dst = openrtb.AppendHex16(dst, keys[0].Sign(dst[q:len(dst)-5]))
		return append(dst, "&price=1.25"...)
	})
}

func BenchmarkServeBillDuplicate(b *testing.B) {
	h := New(Config{}, benchSpender{}, nil)
	b.ReportAllocs()
	b.ResetTimer() // exclude New's dedupe table
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		uri := appendBillURI(nil, 1)
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURIBytes(uri)
			h.ServeBill(&ctx)
			benchSink.Store(int64(ctx.Response.StatusCode()))
		}
	})
}

// BenchmarkBaselineQueryArgs is the floor: the same request setup and a
// handler that only reads the query args and answers 204.
func BenchmarkBaselineQueryArgs(b *testing.B) {
	benchNotices(b, func(ctx *fasthttp.RequestCtx) {
		if ctx.QueryArgs().Peek("bid") != nil {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		}
	}, appendBillURI)
}

func BenchmarkDedupeSeen(b *testing.B) {
	tb := newDedupeTable(1<<20, int64(time.Hour), dedupeEvictions)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		now := time.Now().UnixNano()
		for pb.Next() {
			fp := benchIDs.Add(1) * 0x9E3779B97F4A7C15
			if tb.seen(fp, now) {
				benchSink.Add(1)
			}
		}
	})
}

// BenchmarkDecryptPrice is the cost an encrypted price adds to a notice
// (see PriceKeys).
func BenchmarkDecryptPrice(b *testing.B) {
	k := mustPriceKeys(b, googleKeys)
	v := []byte("YWJjMTIzZGVmNDU2Z2hpN7fhCuPemCce_6msaw")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := k.Decrypt(v); !ok {
			b.Fatal("cannot decrypt")
		}
	}
}
