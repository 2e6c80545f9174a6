package load

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

var sinkDuration time.Duration

func BenchmarkHistogramRecord(b *testing.B) {
	b.ReportAllocs()
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i&0xfffff) * 100)
	}
	sinkDuration = h.Quantile(0.99)
}

// BenchmarkHistogramRecordBaseline is a plain array increment, the floor
// for Record.
func BenchmarkHistogramRecordBaseline(b *testing.B) {
	b.ReportAllocs()
	var counts [histBuckets]uint64
	for i := range b.N {
		counts[(i*100)%histBuckets]++
	}
	sinkDuration = time.Duration(counts[1])
}

// nopDoer answers every request with 200 at once: what is left is the
// generator's own cost (pacer, queue, worker, bookkeeping).
type nopDoer struct{}

func (nopDoer) DoDeadline(_ *fasthttp.Request, resp *fasthttp.Response, _ time.Time) error {
	resp.SetStatusCode(fasthttp.StatusOK)
	return nil
}

var benchBody = []byte(`{"id":"bench","imp":[{"id":"1","banner":{"w":300,"h":250}}]}`)

// runBench runs b.N requests at 10^9 req/s, beyond MaxRate, so the pacer
// is always behind and sends back to back, and reports the achieved rate.
// The queue holds every slot and the timeout outlasts the run, so none is
// dropped or expires and the workers' drain rate is the capacity.
func runBench(b *testing.B, cfg Config) {
	b.Helper()
	cfg.Steps, cfg.Count, cfg.Timeout = Constant(1e9), int64(b.N), time.Hour
	cfg.Bodies = [][]byte{benchBody}
	cfg.MaxBacklog = b.N
	if cfg.Targets == nil {
		cfg.Targets = []string{"http://127.0.0.1:1/openrtb2/bid"}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.ResetTimer()
	res, err := run(context.Background(), cfg.withDefaults(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if res.Bids != int64(b.N) {
		b.Fatalf("got %d bids of %d (errors %d, timeouts %d, dropped %d)", res.Bids, b.N, res.Errors, res.Timeouts, res.Saturation.Dropped)
	}
	b.ReportMetric(float64(res.Sent)/res.Elapsed.Seconds(), "req/s")
}

// BenchmarkDispatch measures the send capacity of pacer plus dispatch
// without a network; run with -cpu 1 for one core.
func BenchmarkDispatch(b *testing.B) {
	runBench(b, Config{Connections: 16, newDoer: func() doer { return nopDoer{} }})
}

func startInmemoryServer(b *testing.B) *fasthttputil.InmemoryListener {
	ln := fasthttputil.NewInmemoryListener()
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"id":"bench"}`) }}
	go s.Serve(ln) //nolint:errcheck // ends with Close
	b.Cleanup(func() { ln.Close() })
	return ln
}

// BenchmarkDispatchInmemory sends through fasthttp to a fixed-response
// fasthttp server over an in-memory listener: generator and server share
// the CPU.
func BenchmarkDispatchInmemory(b *testing.B) {
	ln := startInmemoryServer(b)
	runBench(b, Config{Connections: 16, Dial: func(string) (net.Conn, error) { return ln.Dial() }})
}

// BenchmarkHostClientInmemory is the closed-loop baseline: fasthttp's
// client driving the same server as fast as it can, without a pacer.
func BenchmarkHostClientInmemory(b *testing.B) {
	ln := startInmemoryServer(b)
	c := &fasthttp.HostClient{Addr: "bench", MaxConns: 16, MaxConnWaitTimeout: time.Second, Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	start := time.Now()
	b.SetParallelism(16) // 16 goroutines per P share 16 connections
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://bench/openrtb2/bid")
		req.Header.SetMethod(fasthttp.MethodPost)
		for pb.Next() {
			req.SetBodyRaw(benchBody)
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
				b.Errorf("unexpected answer: %v, %d", err, resp.StatusCode())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
