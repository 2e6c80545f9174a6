package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/rtbd/rtbd/daemon/load"
)

func TestReadSeries(t *testing.T) {
	t.Parallel()
	f := func(text string, want rtbdCounters) {
		t.Helper()
		if got := countersOf(readSeries(strings.NewReader(text), rtbdSeries)); got != want {
			t.Fatalf("unexpected counters for %q; got %+v; want %+v", text, got, want)
		}
	}
	f("", rtbdCounters{})
	f(`rtbd_bid_requests_total{exchange="default",result="shed"} 7`, rtbdCounters{failed: 7})
	f("rtbd_bid_requests_total{exchange=\"default\",result=\"shed\"} 7\nrtbd_bid_requests_total{exchange=\"default\",result=\"bid\"} 100\nrtbd_bid_requests_total{exchange=\"default\",result=\"timeout\"} 3\n", rtbdCounters{failed: 10})
	f(`rtbd_bid_requests_total{exchange="default",result="shed"} x`, rtbdCounters{})
	f(`rtbd_bid_requests_total{exchange="default",result="shedding"} 7`, rtbdCounters{})
	f(`rtbd_bid_requests_total{result="shed"} 7`, rtbdCounters{}) // before exchanges
	// The handler's histogram, as stats.Histogram writes it; buckets and
	// other paths are not its sum or count.
	f("rtbd_request_duration_seconds_bucket{path=\"bid\",exchange=\"default\",le=\"+Inf\"} 4000\n"+
		"rtbd_request_duration_seconds_sum{path=\"bid\",exchange=\"default\"} 0.0325\n"+
		"rtbd_request_duration_seconds_count{path=\"bid\",exchange=\"default\"} 4000\n"+
		"rtbd_request_duration_seconds_sum{path=\"win\"} 9\n", rtbdCounters{handlerSec: 0.0325, handled: 4000})
}

// TestCountersApply checks a phase's shed count and mean handler time
// from the counters around it.
func TestCountersApply(t *testing.T) {
	t.Parallel()
	before := rtbdCounters{failed: 5, handlerSec: 1.5, handled: 100_000}
	after := rtbdCounters{failed: 15, handlerSec: 1.5 + 0.09, handled: 110_000}
	var p Point
	after.apply(before, &p, 10_000)
	if p.Shed != 10 || p.ErrorRate != 0.001 || p.Handler != 9*time.Microsecond {
		t.Fatalf("unexpected point: shed %d, error rate %g, handler %s; want 10, 0.001, 9us", p.Shed, p.ErrorRate, p.Handler)
	}
	var none Point
	before.apply(before, &none, 10_000)
	if none.Handler != 0 || none.Shed != 0 {
		t.Fatalf("a phase with no request handled: handler %s, shed %d; want 0, 0", none.Handler, none.Shed)
	}
}

// TestPointOf checks a phase's error rate: errors, timeouts and the
// requests rtbload dropped, over the requests scheduled.
func TestPointOf(t *testing.T) {
	t.Parallel()
	var r load.Result
	r.Scheduled, r.Sent, r.Errors, r.Timeouts = 1000, 997, 1, 2
	r.Saturation.Dropped, r.Saturation.Spin = 3, 997*time.Microsecond
	p := pointOf(&r, "rtbd", "20k", 20_000)
	if p.ErrorRate != 0.006 || p.Dropped != 3 || p.LoadSpin != time.Microsecond {
		t.Fatalf("error rate %g, dropped %d, spin %s; want 0.006, 3, 1us", p.ErrorRate, p.Dropped, p.LoadSpin)
	}
}

// TestCPUDelta checks the CPU figures of a phase from the snapshots
// around it: per request, busy shares of the wall time, and the other
// processes' share, the machine's busy time less the bench's own.
func TestCPUDelta(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	before := cpuSnapshot{wall: t0, server: time.Second, self: 2 * time.Second, ours: 3 * time.Second,
		machine: machineCPU{busy: 10 * time.Second, steal: time.Second}}
	after := cpuSnapshot{wall: t0.Add(2 * time.Second), server: 2 * time.Second, self: 2500 * time.Millisecond, ours: 4500 * time.Millisecond,
		machine: machineCPU{busy: 12 * time.Second, steal: 1100 * time.Millisecond}}
	var p Point
	after.sub(&before).apply(&p, 1000)
	if p.ServerCPU != time.Millisecond || p.LoadCPU != 500*time.Microsecond || p.ServerBusy != 0.5 || p.LoadBusy != 0.25 {
		t.Fatalf("server %s busy %g, rtbload %s busy %g; want 1ms 0.5, 500us 0.25", p.ServerCPU, p.ServerBusy, p.LoadCPU, p.LoadBusy)
	}
	if math.Abs(p.Foreign-0.25) > 1e-12 || math.Abs(p.Steal-0.05) > 1e-12 {
		t.Fatalf("others %g, steal %g; want 0.25, 0.05", p.Foreign, p.Steal)
	}
}

func TestParseProcStatCPU(t *testing.T) {
	t.Parallel()
	f := func(s string, want time.Duration, wantErr bool) {
		t.Helper()
		got, err := parseProcStatCPU(s)
		if (err != nil) != wantErr || got != want {
			t.Fatalf("unexpected result for %q; got %s, %v; want %s, error %v", s, got, err, want, wantErr)
		}
	}
	// proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime ...
	f("42 (rtbd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0", 3*time.Second, false)
	f("42 (a b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0", 100*time.Millisecond, false)
	f("42 rtbd S 1", 0, true)
	f("42 (rtbd) S 1 2 3", 0, true)
	f("42 (rtbd) S 1 42 42 0 -1 0 0 0 0 0 x 3 0 0", 0, true)
}

func TestLatencyRates(t *testing.T) {
	t.Parallel()
	f := func(fixed []float64, max float64, want string) {
		t.Helper()
		var parts []string
		for _, r := range latencyRates(fixed, max) {
			parts = append(parts, r.label+"="+rateLabel(r.rate))
		}
		if got := strings.Join(parts, " "); got != want {
			t.Fatalf("unexpected latencyRates(%v, %g); got %q; want %q", fixed, max, got, want)
		}
	}
	f([]float64{5000, 20000}, 0, "5k=5k 20k=20k")
	f([]float64{5000, 20000}, 60000, "5k=5k 20k=20k 50% max=30k")
	f([]float64{5000, 20000}, 21950, "5k=5k 50% max=10900 20k=20k")
	f(nil, 150, "")
}

func TestCeilingHandler(t *testing.T) {
	t.Parallel()
	if !json.Valid([]byte(CeilingResponse)) || len(CeilingResponse) < 550 || len(CeilingResponse) > 700 {
		t.Fatalf("CeilingResponse must be valid JSON of about 600 B; got %d B", len(CeilingResponse))
	}
	ln := fasthttputil.NewInmemoryListener()
	defer ln.Close()
	go newCeilingServer().Serve(ln) //nolint:errcheck // ends with Close
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	f := func(method, body string, wantStatus int, wantBody string) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://ceiling/openrtb2/bid")
		req.Header.SetMethod(method)
		req.SetBodyString(body)
		if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatalf("cannot %s: %s", method, err)
		}
		if resp.StatusCode() != wantStatus || !bytes.Equal(resp.Body(), []byte(wantBody)) {
			t.Fatalf("unexpected answer to %s %q; got %d %q; want %d %q", method, body, resp.StatusCode(), resp.Body(), wantStatus, wantBody)
		}
	}
	f("POST", `{"id":"1","imp":[{"id":"1"}]}`, 200, CeilingResponse)
	f("POST", "", 400, "")
	f("GET", "", 405, "")
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	f := func(addr string, ok bool) {
		t.Helper()
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Fatalf("unexpected checkLoopback(%q): %v", addr, err)
		}
	}
	f("127.0.0.1:0", true)
	f("127.0.0.2:8080", true)
	f("[::1]:80", true)
	f("0.0.0.0:80", false)
	f("10.0.0.1:80", false)
	f(":80", false)
	f("localhost", false)
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 8}
	b.Write([]byte("hello "))
	b.Write([]byte("world!"))
	if got := b.String(); got != "o world!" {
		t.Fatalf("unexpected tail; got %q; want %q", got, "o world!")
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	f := func(args string, ok bool) {
		t.Helper()
		var stderr bytes.Buffer
		_, err := parseFlags(strings.Fields(args), &stderr)
		if (err == nil) != ok {
			t.Fatalf("unexpected parseFlags(%q): %v; stderr %s", args, err, stderr.String())
		}
	}
	f("", true)
	f("-quick -repeat 3", true)
	f("-repeat 0", false)
	f("-repeat 21", false)
	f("-connections 0", false)
	f("-nice -10 -quiet.wait 2m", true)
	f("-cpu.poll", true)
	f("-cpu.poll=maybe", false)
	f("-nice 20", false)
	f("-quiet.wait 2h", false)
	f("-ctv 0 -dir requests -rtbd.config rtbd.json", true)
	f("-ctv -1", false)
	f("-ctv 10001", false)
	f("extra", false)
	f("-nosuchflag", false)
	var stderr bytes.Buffer
	o, _ := parseFlags([]string{"-quick"}, &stderr)
	if o.Step != time.Second || o.Search.Retries != 0 || len(o.Rates) != 2 {
		t.Fatalf("unexpected quick options: %+v", o)
	}
}

func TestParseMachineCPU(t *testing.T) {
	t.Parallel()
	f := func(line string, want machineCPU, wantErr bool) {
		t.Helper()
		got, err := parseMachineCPU(line)
		if (err != nil) != wantErr || got != want {
			t.Fatalf("unexpected result for %q; got %+v, %v; want %+v, error %v", line, got, err, want, wantErr)
		}
	}
	f("cpu  100 10 50 9000 5 3 2 40 0 0", machineCPU{busy: 1650 * time.Millisecond, steal: 400 * time.Millisecond}, false)
	f("cpu0 100 10 50 9000 5 3 2 40 0 0", machineCPU{}, true)
	f("cpu  100 10 50", machineCPU{}, true)
	f("cpu  100 10 50 9000 5 3 2 x 0 0", machineCPU{}, true)
}

// TestPadAnswer checks that a padded ceiling answer is still one valid
// BidResponse of exactly the asked size.
func TestPadAnswer(t *testing.T) {
	for _, n := range []int{0, 100, len(CeilingResponse) + 1, 7000} {
		want := n // too small to pad: unchanged
		if n < len(CeilingResponse)+len(`{"ext":{"pad":""},`)-1 {
			want = len(CeilingResponse)
		}
		b := padAnswer(n)
		var r struct {
			ID  string `json:"id"`
			Ext struct {
				Pad string `json:"pad"`
			} `json:"ext"`
			SeatBid []json.RawMessage `json:"seatbid"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.ID != "1234567890" || len(r.SeatBid) != 1 {
			t.Fatalf("padAnswer(%d) is not the ceiling's BidResponse (%v): %.80s", n, err, b)
		}
		if len(b) != want {
			t.Fatalf("padAnswer(%d) is %d bytes; want %d", n, len(b), want)
		}
	}
}

// TestOthersCPUs: the quiet gate counts the hypervisor's steal like a
// neighbour's work. A machine idle inside but with half a CPU stolen is
// not quiet at the default -quiet.max.
func TestOthersCPUs(t *testing.T) {
	t.Parallel()
	a := machineCPU{busy: 10 * time.Second, steal: 2 * time.Second}
	idleStolen := machineCPU{busy: a.busy + 10*time.Millisecond, steal: a.steal + 250*time.Millisecond}
	busy := machineCPU{busy: a.busy + 300*time.Millisecond, steal: a.steal}
	quiet := machineCPU{busy: a.busy + 40*time.Millisecond, steal: a.steal + 10*time.Millisecond}
	max := defaultOptions().QuietMax
	for _, c := range []struct {
		b     machineCPU
		want  float64
		quiet bool
	}{{idleStolen, 0.52, false}, {busy, 0.6, false}, {quiet, 0.1, true}} {
		got := othersCPUs(a, c.b, quietSample)
		if math.Abs(got-c.want) > 1e-9 || (got <= max) != c.quiet {
			t.Errorf("othersCPUs(%+v) = %.3f (quiet %v); want %.3f (quiet %v)", c.b, got, got <= max, c.want, c.quiet)
		}
	}
}

// TestQuietest: a noisy phase is measured again, at most repeats times,
// and the quietest measurement counts; a quiet first one is kept at once.
func TestQuietest(t *testing.T) {
	t.Parallel()
	run := func(noise ...float64) (Point, int, int) {
		calls, noisy := 0, 0
		p, err := quietest(func() (Point, error) {
			p := Point{Steal: noise[calls], Target: float64(calls)}
			calls++
			return p, nil
		}, 0.2, 2, func(*Point) { noisy++ })
		if err != nil {
			t.Fatal(err)
		}
		return p, calls, noisy
	}
	if p, calls, noisy := run(0.1, 0.9, 0.9); calls != 1 || noisy != 0 || p.Target != 0 {
		t.Errorf("quiet first phase: kept %v after %d measurements (%d noisy); want the first, once", p.Target, calls, noisy)
	}
	if p, calls, _ := run(0.9, 0.5, 0.7); calls != 3 || p.Target != 1 {
		t.Errorf("noisy phases: kept measurement %v of %d; want the quietest (1) of 3", p.Target, calls)
	}
	if p, calls, _ := run(0.9, 0.05, 0.0); calls != 2 || p.Target != 1 {
		t.Errorf("a quiet repeat: kept measurement %v of %d; want it (1) after 2", p.Target, calls)
	}
}
