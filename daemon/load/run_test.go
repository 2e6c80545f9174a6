package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

// startServer serves h on a fresh 127.0.0.1 port and returns its bid URL.
func startServer(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	s := &fasthttp.Server{Handler: h}
	go s.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.ShutdownWithContext(ctx) //nolint:errcheck
	})
	return "http://" + ln.Addr().String() + "/openrtb2/bid"
}

// startRawServer accepts connections on a fresh 127.0.0.1 port and hands
// each, numbered from 1, to serve on its own goroutine, which speaks HTTP
// by hand; the connection is closed when serve returns. It returns the
// bid URL.
func startRawServer(t *testing.T, serve func(c net.Conn, nth int64)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := int64(1); ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c, n)
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/openrtb2/bid"
}

// eachEngine runs test once with each engine, as subtests.
func eachEngine(t *testing.T, test func(t *testing.T, engine Engine)) {
	for _, e := range []Engine{EngineLoop, EngineGoroutines} {
		t.Run(string(e), func(t *testing.T) { test(t, e) })
	}
}

// runTest runs cfg with engine with the test defaults (one body, no progress).
func runTest(t *testing.T, engine Engine, cfg Config) *Result {
	t.Helper()
	cfg.Engine = engine
	if cfg.Bodies == nil {
		cfg.Bodies = [][]byte{[]byte(`{"id":"r1","imp":[{"id":"1"}]}`)}
	}
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("cannot run: %v", err)
	}
	return res
}

func TestRunStatusClassification(t *testing.T) { eachEngine(t, testRunStatusClassification) }

func testRunStatusClassification(t *testing.T, engine Engine) {
	var n atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		switch n.Add(1) % 10 {
		case 0, 1, 2, 3, 4, 5:
			ctx.SetBodyString(`{"id":"r1"}`)
		case 6, 7, 8:
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		default:
			ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(5000), Count: 1000, Timeout: 5 * time.Second, Connections: 8})
	if n.Load() != 1000 || res.Sent != 1000 || res.Scheduled != 1000 {
		t.Fatalf("server saw %d, sent %d, scheduled %d; want 1000 each", n.Load(), res.Sent, res.Scheduled)
	}
	if res.Bids != 600 || res.NoBids != 300 || res.Errors != 100 || res.Timeouts != 0 {
		t.Fatalf("got bid %d nobid %d error %d timeout %d; want 600/300/100/0", res.Bids, res.NoBids, res.Errors, res.Timeouts)
	}
	tr := res.Targets[0]
	if tr.Sent != 1000 || tr.Bids != 600 || tr.NoBids != 300 || tr.Errors != 100 {
		t.Fatalf("unexpected target counts %+v", tr)
	}
	var sum Second
	for _, s := range res.Series {
		sum.Sent += s.Sent
		sum.Bids += s.Bids
		sum.NoBids += s.NoBids
		sum.Errors += s.Errors
	}
	if sum.Sent != 1000 || sum.Bids != 600 || sum.NoBids != 300 || sum.Errors != 100 {
		t.Fatalf("per-second series does not add up to the totals: %+v", sum)
	}
	if res.Latency.Count != 1000 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 {
		t.Fatalf("unexpected latency summary %+v", res.Latency)
	}
}

func TestRunTimeouts(t *testing.T) { eachEngine(t, testRunTimeouts) }

func testRunTimeouts(t *testing.T, engine Engine) {
	release := make(chan struct{})
	url := startServer(t, func(ctx *fasthttp.RequestCtx) { <-release })
	t.Cleanup(func() { close(release) }) // runs before the server's shutdown
	timeout := 20 * time.Millisecond
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(1000), Count: 5, Timeout: timeout})
	if res.Timeouts != 5 || res.Bids+res.NoBids+res.Errors != 0 {
		t.Fatalf("got timeout %d, other %d; want 5 timeouts only", res.Timeouts, res.Bids+res.NoBids+res.Errors)
	}
	if res.Latency.Max < timeout || res.Latency.Count != 5 {
		t.Fatalf("timeouts must count at their latency (>= %s); got %+v", timeout, res.Latency)
	}
	if res.LongestGap < timeout || res.ZeroSeconds != 1 {
		t.Fatalf("a run without success is one long gap; got gap %s, zero seconds %d", res.LongestGap, res.ZeroSeconds)
	}
}

// TestRunOpenLoopStall proves latency counts from the intended send time.
// The server stalls every handler for a measured window while rtbload
// sends 2000 req/s over 4 connections. A closed-loop generator would
// record the stall only for the 4 requests in flight (0.4 % of 1000, below
// p99) and then send the postponed requests late, measuring them as fast.
// Open loop, every request scheduled during the stall waits for its end, so
// p99 and max must both include it.
func TestRunOpenLoopStall(t *testing.T) { eachEngine(t, testRunOpenLoopStall) }

func testRunOpenLoopStall(t *testing.T, engine Engine) {
	var n atomic.Int64
	stallStarted, release := make(chan struct{}), make(chan struct{})
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		switch k := n.Add(1); {
		case k == 200:
			close(stallStarted)
			<-release
		case k > 200:
			<-release
		}
	})
	stall := make(chan time.Duration, 1)
	go func() {
		<-stallStarted
		t0 := time.Now()
		<-time.After(200 * time.Millisecond) // the controlled stall itself
		stall <- time.Since(t0)
		close(release)
	}()
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(2000), Count: 1000, Connections: 4, Timeout: 10 * time.Second})
	measured := <-stall
	if res.Bids != 1000 {
		t.Fatalf("got %d bids; want 1000 (errors %d, timeouts %d)", res.Bids, res.Errors, res.Timeouts)
	}
	if res.Latency.Max < measured {
		t.Fatalf("max latency %s does not include the %s stall", res.Latency.Max, measured)
	}
	// Slots in the first 10 % of the stall (about 40 at 2000/s, 4 % of
	// the run) wait at least 90 % of it.
	if p99 := res.Latency.P99; p99 < measured*9/10 {
		t.Fatalf("p99 %s hides the %s stall: coordinated omission", p99, measured)
	}
	if res.Saturation.Backlog == 0 || res.Saturation.MaxBehind < measured/2 {
		t.Fatalf("rtbload must report its backlog during the stall; got %+v", res.Saturation)
	}
}

func TestRunFailover(t *testing.T) { eachEngine(t, testRunFailover) }

func testRunFailover(t *testing.T, engine Engine) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/openrtb2/bid"
	ln.Close() // connection refused from now on
	var served atomic.Int64
	live := startServer(t, func(ctx *fasthttp.RequestCtx) { served.Add(1); ctx.SetBodyString(`{"id":"r1"}`) })
	const conns, threshold = 4, 3
	res := runTest(t, engine, Config{
		Targets: []string{dead, live}, Steps: Constant(3000), Count: 300, Connections: conns,
		Timeout: 5 * time.Second, BreakerThreshold: threshold, BreakerCooldown: time.Minute,
	})
	if res.Bids != 300 || res.Errors+res.Timeouts != 0 || served.Load() != 300 {
		t.Fatalf("got bids %d errors %d timeouts %d served %d; want every request answered by the live target",
			res.Bids, res.Errors, res.Timeouts, served.Load())
	}
	d, l := res.Targets[0], res.Targets[1]
	// Up to one request per connection may be in flight when it opens.
	if d.DialErrors < threshold || d.DialErrors > threshold+conns || d.BreakerOpens != 1 || d.Sent != d.DialErrors || d.Bids != 0 {
		t.Fatalf("dead target: got %+v; want %d..%d dial errors, one breaker open", d, threshold, threshold+conns)
	}
	if l.Bids != 300 || l.Sent != 300 {
		t.Fatalf("live target: got %+v; want all 300", l)
	}
}

// TestRunErrorKinds aims at a closed port: every request is a dial error,
// tried twice, and the result says so, with the kernel's reason.
func TestRunErrorKinds(t *testing.T) { eachEngine(t, testRunErrorKinds) }

func testRunErrorKinds(t *testing.T, engine Engine) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/openrtb2/bid"
	ln.Close()
	res := runTest(t, engine, Config{Targets: []string{dead}, Steps: Constant(1000), Count: 10, Connections: 2, Timeout: 5 * time.Second})
	tr := res.Targets[0]
	if res.Errors != 10 || tr.ErrorKinds != (ErrorKinds{Dial: 10}) || !strings.Contains(tr.LastError, "connection refused") {
		t.Fatalf("errors %d, kinds %+v, last %q; want 10 dial errors, connection refused", res.Errors, tr.ErrorKinds, tr.LastError)
	}
	// With one target, a failed connection is tried once more: the
	// request never left.
	if tr.Sent != 10 || tr.DialErrors != 10 || tr.Retries != 10 {
		t.Fatalf("sent %d, dial errors %d, retries %d; want 10 each", tr.Sent, tr.DialErrors, tr.Retries)
	}
	// Nor does it count as sent, or in the achieved rate: a refused run
	// once read "rate 1000.0/s" and passed rate>=990 (the rtbload audit).
	if res.Sent != 0 || res.Rate != 0 || res.Series[0].Sent != 0 || res.ZeroSeconds != 1 {
		t.Fatalf("run sent %d at %.1f/s, second 0 sent %d, zero seconds %d; want 0 sent at 0/s, one second without success",
			res.Sent, res.Rate, res.Series[0].Sent, res.ZeroSeconds)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil || !strings.Contains(table.String(), "dial 10") {
		t.Fatalf("table lacks the error kinds (%v):\n%s", err, table.String())
	}
	// A second with no latency measured shows none, not a p99 of 0us.
	if !regexp.MustCompile(`\n0 +0 +0 +0 +10 +0 +0 +-\n`).MatchString(table.String()) {
		t.Fatalf("table's second 0 does not show its p99 as unmeasured:\n%s", table.String())
	}
}

func TestRunBounded(t *testing.T) { eachEngine(t, testRunBounded) }

func testRunBounded(t *testing.T, engine Engine) {
	var n atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) { n.Add(1); ctx.SetStatusCode(fasthttp.StatusNoContent) })
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(50000), Count: 777, Timeout: 5 * time.Second})
	if res.Scheduled != 777 || res.Sent != 777 || res.NoBids != 777 || n.Load() != 777 {
		t.Fatalf("count 777: scheduled %d sent %d nobids %d served %d", res.Scheduled, res.Sent, res.NoBids, n.Load())
	}
	n.Store(0)
	res = runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(1000), Duration: 200 * time.Millisecond, Timeout: 5 * time.Second})
	if res.Scheduled != 200 || n.Load() != 200 || res.Window != 200*time.Millisecond {
		t.Fatalf("200ms at 1000/s: scheduled %d served %d window %s; want 200, 200, 200ms", res.Scheduled, n.Load(), res.Window)
	}
}

func TestRunStopsOnCancel(t *testing.T) { eachEngine(t, testRunStopsOnCancel) }

func testRunStopsOnCancel(t *testing.T, engine Engine) {
	first := make(chan struct{})
	var n atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1) == 1 {
			close(first)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-first; cancel() }()
	cfg := Config{Targets: []string{url}, Steps: Constant(100), Duration: time.Hour, Bodies: DefaultBodies(0, 1), Engine: engine}
	res, err := Run(ctx, cfg, nil)
	if err != nil || res.Scheduled < 1 || res.Scheduled > 20 {
		t.Fatalf("a cancelled run must stop early; got %v, scheduled %d", err, res.Scheduled)
	}
	// A gate stopped by a signal must not pass on the part that ran.
	if !res.Interrupted {
		t.Fatal("a cancelled run is not marked interrupted")
	}
	as, err := ParseAssert("sent>=1")
	if err != nil {
		t.Fatal(err)
	}
	if failed := res.Check(as); len(failed) != 1 || !strings.Contains(failed[0], "interrupted") {
		t.Fatalf("an interrupted run's check: %q; want one failure naming the interruption", failed)
	}
	if !bytes.Contains(res.JSON(), []byte(`"interrupted":true`)) {
		t.Fatalf("the JSON does not say the run was interrupted: %s", res.JSON())
	}
	// Not marked when the schedule ends on its own (TestRunBounded's run).
	if res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(1000), Count: 3}); res.Interrupted {
		t.Fatal("a run that ended with its schedule is marked interrupted")
	}
}

func TestRunGzip(t *testing.T) { eachEngine(t, testRunGzip) }

func testRunGzip(t *testing.T, engine Engine) {
	body := []byte(`{"id":"gz","imp":[{"id":"1"}]}`)
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		zr, err := gzip.NewReader(bytes.NewReader(ctx.PostBody()))
		var got bytes.Buffer
		if err == nil {
			_, err = got.ReadFrom(zr)
		}
		if err != nil || string(ctx.Request.Header.Peek("Content-Encoding")) != "gzip" || !bytes.Equal(got.Bytes(), body) {
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(1000), Count: 20, Gzip: true, Bodies: [][]byte{body}, Timeout: 5 * time.Second})
	if res.Bids != 20 {
		t.Fatalf("got %d bids, %d errors; want 20 gzip requests accepted", res.Bids, res.Errors)
	}
}

func TestRunLongestGap(t *testing.T) { eachEngine(t, testRunLongestGap) }

func testRunLongestGap(t *testing.T, engine Engine) {
	var n atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if k := n.Add(1); k > 100 && k <= 200 {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(1000), Count: 300, Timeout: 5 * time.Second})
	if res.Errors != 100 || res.Bids != 200 {
		t.Fatalf("got %d errors, %d bids; want 100, 200", res.Errors, res.Bids)
	}
	if k := res.Targets[0].ErrorKinds; k != (ErrorKinds{Status: 100}) || res.Targets[0].LastError != "status 503" {
		t.Fatalf("error kinds %+v, last %q; want 100 status errors, last \"status 503\"", k, res.Targets[0].LastError)
	}
	// 100 failed requests at 1000/s: about 100 ms without a success.
	if res.LongestGap < 50*time.Millisecond {
		t.Fatalf("longest gap %s; want about 100ms", res.LongestGap)
	}
}

func TestRunProgressAndOutput(t *testing.T) { eachEngine(t, testRunProgressAndOutput) }

func testRunProgressAndOutput(t *testing.T, engine Engine) {
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {})
	var progress bytes.Buffer
	cfg := Config{Targets: []string{url}, Steps: Constant(50), Duration: 1100 * time.Millisecond, Bodies: DefaultBodies(5, 1), Engine: engine}
	res, err := Run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "rtbload:    1s sent ") {
		t.Fatalf("want one progress line after 1s; got %q", progress.String())
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p99.9", url, "second  sent", "max behind"} {
		if !strings.Contains(table.String(), want) {
			t.Fatalf("table lacks %q:\n%s", want, table.String())
		}
	}
	var back Result
	if err := json.Unmarshal(res.JSON(), &back); err != nil {
		t.Fatalf("cannot decode the JSON result: %v", err)
	}
	if back.Sent != 55 || back.Bids != 55 || len(back.Series) != 2 || back.Series[1].Sent != 5 || back.Latency.P99 != res.Latency.P99 {
		t.Fatalf("unexpected JSON result: sent %d bids %d series %+v", back.Sent, back.Bids, back.Series)
	}
}

// TestRunRetriesClosedConnection serves one request per connection and then
// closes it without "Connection: close", as a draining server or a moved
// VRRP address does: the next request on that kept-alive connection finds it
// closed before any response byte and is sent again once, so nothing fails.
// The event loop mostly sees the close while the connection is idle, and
// then connects afresh without a retry.
func TestRunRetriesClosedConnection(t *testing.T) { eachEngine(t, testRunRetriesClosedConnection) }

func testRunRetriesClosedConnection(t *testing.T, engine Engine) {
	var served atomic.Int64
	url := startRawServer(t, func(c net.Conn, _ int64) {
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(c)); err != nil {
			return
		}
		served.Add(1)
		c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")) //nolint:errcheck
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(100), Count: 5, Connections: 1, Timeout: 5 * time.Second})
	tr := res.Targets[0]
	if res.NoBids != 5 || res.Errors != 0 || served.Load() != 5 {
		t.Fatalf("nobids %d errors %d served %d; want 5, 0, 5", res.NoBids, res.Errors, served.Load())
	}
	if least := map[Engine]int64{EngineGoroutines: 1}[engine]; tr.Retries < least || tr.Retries > 4 {
		t.Fatalf("retries %d; want %d..4 (at most one per reused closed connection)", tr.Retries, least)
	}
}

// TestRunRetriesHalfAnswered resets each connection in the middle of its
// first answer, as a VRRP move does when the client's acknowledgements
// reach the new master: no whole answer arrived, so the request is sent
// once more on a new connection, where it is answered.
func TestRunRetriesHalfAnswered(t *testing.T) { eachEngine(t, testRunRetriesHalfAnswered) }

func testRunRetriesHalfAnswered(t *testing.T, engine Engine) {
	var conns atomic.Int64
	url := startRawServer(t, func(c net.Conn, nth int64) {
		conns.Add(1)
		br := bufio.NewReader(c)
		for {
			var req fasthttp.Request
			if err := req.Read(br); err != nil {
				return
			}
			if nth == 1 {
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\"")) //nolint:errcheck
				c.(*net.TCPConn).SetLinger(0)                                            //nolint:errcheck
				return
			}
			c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")) //nolint:errcheck
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(100), Count: 3, Connections: 1, Timeout: 5 * time.Second})
	tr := res.Targets[0]
	if res.NoBids != 3 || res.Errors != 0 || tr.Retries != 1 || conns.Load() != 2 {
		t.Fatalf("nobids %d errors %d retries %d connections %d; want 3, 0, 1, 2 (last error %q)", res.NoBids, res.Errors, tr.Retries, conns.Load(), tr.LastError)
	}
}

// TestRunLateAnswerKeepsConnection: every tenth request is answered after
// the deadline. Each counts as a timeout, and its connection stays open:
// the server sees no more connections than rtbload has workers. A client
// that closed the connection at the deadline would connect once more per
// late answer.
//
// A late answer comes 1.2 timeouts after it was sent, and rtbload reads
// until 2 timeouts after the slot: a send delayed by up to 0.8 timeouts
// (40 ms; the race detector and this VM's stalls reached 10 ms with a
// 20 ms timeout) still leaves it inside the read.
func TestRunLateAnswerKeepsConnection(t *testing.T) { eachEngine(t, testRunLateAnswerKeepsConnection) }

func testRunLateAnswerKeepsConnection(t *testing.T, engine Engine) {
	const timeout = 50 * time.Millisecond
	var n, conns atomic.Int64
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if n.Add(1)%10 == 0 {
				time.Sleep(timeout * 6 / 5) // the late answer under test
			}
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		},
		ConnState: func(_ net.Conn, st fasthttp.ConnState) {
			if st == fasthttp.StateNew {
				conns.Add(1)
			}
		},
	}
	go s.Serve(ln)                     //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { s.Shutdown() }) //nolint:errcheck
	url := "http://" + ln.Addr().String() + "/openrtb2/bid"
	const workers = 4
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(400), Count: 100, Connections: workers, Timeout: timeout})
	if n.Load() != 100 || res.Sent != 100 {
		t.Fatalf("server saw %d, sent %d; want 100 (expired %d)", n.Load(), res.Sent, res.Saturation.Expired)
	}
	if res.Timeouts < 10 || res.NoBids+res.Timeouts != 100 || res.Errors != 0 {
		t.Fatalf("nobids %d timeouts %d errors %d; want >= 10 late answers counted as timeouts, no error", res.NoBids, res.Timeouts, res.Errors)
	}
	if c := conns.Load(); c > workers {
		t.Fatalf("server accepted %d connections for %d workers: late answers closed connections", c, workers)
	}
	if res.Latency.Max < timeout {
		t.Fatalf("max latency %s; late answers must count at their latency (>= %s)", res.Latency.Max, timeout)
	}
}

// TestRunExpiresQueuedSlots: the only connection is held by a stalled
// request while slots queue behind it. Those whose deadline passes in the
// queue are timeouts and never reach the server.
func TestRunExpiresQueuedSlots(t *testing.T) { eachEngine(t, testRunExpiresQueuedSlots) }

func testRunExpiresQueuedSlots(t *testing.T, engine Engine) {
	const timeout = 30 * time.Millisecond
	var n atomic.Int64
	url := startServer(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1) == 1 {
			time.Sleep(timeout * 3 / 2) // the stall under test
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(1000), Count: 100, Connections: 1, Timeout: timeout})
	exp := res.Saturation.Expired
	if exp < 5 || n.Load() != res.Sent || res.Sent+exp != res.Scheduled || res.Saturation.Dropped != 0 {
		t.Fatalf("expired %d, served %d, sent %d, scheduled %d, dropped %d; want >= 5 expired, the rest sent and served",
			exp, n.Load(), res.Sent, res.Scheduled, res.Saturation.Dropped)
	}
	if res.Timeouts < exp+1 || res.NoBids+res.Timeouts != 100 {
		t.Fatalf("timeouts %d nobids %d; want the stalled request and the %d expired slots as timeouts", res.Timeouts, res.NoBids, exp)
	}
}

// TestRunPreconnects: both engines open every connection before the
// schedule starts. Four requests at 100 a second would reuse one
// connection if they dialed on demand.
func TestRunPreconnects(t *testing.T) { eachEngine(t, testRunPreconnects) }

func testRunPreconnects(t *testing.T, engine Engine) {
	accepted := make(chan struct{}, 64)
	url := startRawServer(t, func(c net.Conn, _ int64) {
		accepted <- struct{}{}
		br := bufio.NewReader(c)
		for {
			var req fasthttp.Request
			if err := req.Read(br); err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")) //nolint:errcheck
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(100), Count: 4, Connections: 8, Timeout: 5 * time.Second})
	if res.Bids != 4 || res.Errors != 0 {
		t.Fatalf("bids %d errors %d; want 4, 0 (last error %q)", res.Bids, res.Errors, res.Targets[0].LastError)
	}
	// rtbload has closed them by now; the server accepts what is queued.
	timeout := time.After(10 * time.Second)
	for got := 0; got < 8; got++ {
		select {
		case <-accepted:
		case <-timeout:
			t.Fatalf("the server accepted %d connections; want 8, one per connection asked for", got)
		}
	}
}

// TestRunResendsAfterIdle408: a server that closed an idle connection
// with 408 Request Timeout never read the request written meanwhile; both
// engines send it once more on a new connection, and it is answered.
func TestRunResendsAfterIdle408(t *testing.T) { eachEngine(t, testRunResendsAfterIdle408) }

func testRunResendsAfterIdle408(t *testing.T, engine Engine) {
	url := startRawServer(t, func(c net.Conn, nth int64) {
		br := bufio.NewReader(c)
		for {
			var req fasthttp.Request
			if err := req.Read(br); err != nil {
				return
			}
			if nth%2 == 1 { // as if its idle timer fired before the request came
				c.Write([]byte("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")) //nolint:errcheck
				return
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")) //nolint:errcheck
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(100), Count: 4, Connections: 1, Timeout: 5 * time.Second})
	if res.Bids != 4 || res.Errors != 0 || res.Targets[0].Retries == 0 {
		t.Fatalf("bids %d errors %d retries %d; want 4, 0, > 0 (last error %q)", res.Bids, res.Errors, res.Targets[0].Retries, res.Targets[0].LastError)
	}
}
