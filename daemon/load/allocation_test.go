//go:build !race

package load

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestHistogramRecordAllocs(t *testing.T) {
	var h Histogram
	n := testing.AllocsPerRun(1000, func() { h.Record(123 * time.Microsecond) })
	if n != 0 {
		t.Fatalf("Histogram.Record allocates %.1f times per call; want 0", n)
	}
}

// TestWorkerDoAllocs covers a worker's whole per-request path: target
// choice, breaker, request reuse, classification and all the counters.
func TestWorkerDoAllocs(t *testing.T) {
	cfg := Config{
		Targets: []string{"http://127.0.0.1:1/a", "http://127.0.0.1:2/b"}, Steps: Constant(10), Count: 1,
		Bodies: [][]byte{benchBody}, newDoer: func() doer { return nopDoer{} },
	}.withDefaults()
	rs, err := newRunState(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	rs.clock = clock{start: time.Now()}
	w := newWorker(rs, 0)
	w.do(0) // allocates the first second of the series
	n := testing.AllocsPerRun(1000, func() { w.do(0) })
	if n != 0 {
		t.Fatalf("worker.do allocates %.1f times per request; want 0", n)
	}
	if w.c.bids.Load() != 1002 { // AllocsPerRun warms up once
		t.Fatalf("got %d bids; want 1002", w.c.bids.Load())
	}
}

// TestConnClientAllocs covers a plain-HTTP request on a real loopback
// connection: writing the request and reading the answer, kept
// connection and all.
func TestConnClientAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"id":"1"}`) }}
	go s.Serve(ln) //nolint:errcheck // ends with Shutdown
	defer s.Shutdown()
	c := &connClient{addr: ln.Addr().String(), dial: func(a string) (net.Conn, error) { return net.Dial("tcp", a) }, rsize: 16 << 10, slack: time.Hour}
	defer c.Close()
	req := new(fasthttp.Request)
	req.SetRequestURI("http://" + c.addr + "/openrtb2/bid")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetBodyRaw(benchBody)
	var resp fasthttp.Response
	deadline := time.Now().Add(time.Hour)
	do := func() {
		if err := c.DoDeadline(req, &resp, deadline); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("answer %d, %v; want 200", resp.StatusCode(), err)
		}
	}
	do() // connects
	if n := testing.AllocsPerRun(200, do); n != 0 {
		t.Fatalf("connClient allocates %.1f times per request; want 0", n)
	}
}
