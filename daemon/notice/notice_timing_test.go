package notice

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// benchSink keeps the last status so the compiler cannot drop the work.
var benchSink atomic.Int64

// benchSpender accepts every bill.
type benchSpender struct{}

func (benchSpender) Bill([]byte, uint64, float64, []byte, time.Time) (Charge, error) {
	return Charge{}, nil
}

var benchIDs atomic.Uint64

// benchNotices runs serve over billing notice URIs with a fresh bid id per
// call, built into a reused buffer.
func benchNotices(b *testing.B, serve fasthttp.RequestHandler) {
	b.ReportAllocs()
	b.SetBytes(int64(len(appendBillURI(nil, 1<<40))))
	b.ResetTimer() // exclude New's dedupe table
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		var uri []byte
		for pb.Next() {
			uri = appendBillURI(uri[:0], benchIDs.Add(1))
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
	benchNotices(b, h.ServeBill)
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
	})
}

func BenchmarkDedupeSeen(b *testing.B) {
	tb := newDedupeTable(1<<20, int64(time.Hour))
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
