//go:build linux

package load

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// TestRunAnswerFramings answers with every framing the event loop follows
// itself (chunked, interim 100, HTTP/1.0 that closes, a body that ends
// with the connection) and the goroutine engine leaves to fasthttp: each
// is a bid, and nothing is lost.
func TestRunAnswerFramings(t *testing.T) { eachEngine(t, testRunAnswerFramings) }

func testRunAnswerFramings(t *testing.T, engine Engine) {
	answers := []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"until\":\"close\"}",
	}
	var served atomic.Int64
	url := startRawServer(t, func(c net.Conn, _ int64) {
		br := bufio.NewReader(c)
		for {
			var req fasthttp.Request
			if err := req.Read(br); err != nil {
				return
			}
			a := answers[served.Add(1)%int64(len(answers))]
			c.Write([]byte(a)) //nolint:errcheck
			if strings.Contains(a, "close") || strings.HasPrefix(a, "HTTP/1.0") {
				return
			}
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(500), Count: 40, Connections: 2, Timeout: 5 * time.Second})
	if res.Bids != 40 || res.Errors != 0 || served.Load() != 40 {
		t.Fatalf("bids %d errors %d served %d; want 40, 0, 40 (last error %q)", res.Bids, res.Errors, served.Load(), res.Targets[0].LastError)
	}
}

// TestRunLargeBodies sends bodies larger than the socket buffers to a
// server that waits before it reads, so that writes stop half-way and
// resume when the socket drains: each body arrives whole.
func TestRunLargeBodies(t *testing.T) { eachEngine(t, testRunLargeBodies) }

func testRunLargeBodies(t *testing.T, engine Engine) {
	var pad bytes.Buffer
	for pad.Len() < 8<<20 {
		fmt.Fprintf(&pad, `{"id":"%d"},`, pad.Len())
	}
	body := []byte(`{"id":"big","imp":[` + strings.TrimSuffix(pad.String(), ",") + `]}`)
	var whole atomic.Int64
	url := startRawServer(t, func(c net.Conn, _ int64) {
		br := bufio.NewReaderSize(c, 4096)
		for {
			var req fasthttp.Request
			req.Header.DisableNormalizing()
			if err := req.Header.Read(br); err != nil {
				return
			}
			// The slow reader under test: the client's socket buffers fill.
			time.Sleep(50 * time.Millisecond)
			got, err := io.CopyN(io.Discard, br, int64(req.Header.ContentLength()))
			if err != nil {
				return
			}
			if got == int64(len(body)) {
				whole.Add(1)
			}
			c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")) //nolint:errcheck
		}
	})
	res := runTest(t, engine, Config{Targets: []string{url}, Steps: Constant(50), Count: 3, Connections: 1, Timeout: 20 * time.Second, Bodies: [][]byte{body}})
	if res.NoBids != 3 || whole.Load() != 3 {
		t.Fatalf("nobids %d, whole bodies %d; want 3, 3 (errors %d, last %q)", res.NoBids, whole.Load(), res.Errors, res.Targets[0].LastError)
	}
}

// TestLoopWaitFor: how long the loop may sleep. Above 50k slots a second
// it sleeps until an answer wakes it, but only with answers to come: with
// none in flight, the slot must end the sleep itself.
func TestLoopWaitFor(t *testing.T) {
	l := newTestLoop(t, Config{Targets: []string{"http://127.0.0.1:1/"}})
	const now, us = int64(time.Second), int64(time.Microsecond)
	l.nextCheck = now + int64(time.Hour)
	fast, slow := int64(tickBelow)/2, int64(time.Millisecond) // intervals
	cases := []struct {
		name     string
		busy     int
		ahead    int64
		interval int64
		more     bool
		timeout  int64
		spin     bool
	}{
		{"due now", 0, 0, slow, true, 0, true},
		{"within the quiet spin", 0, int64(spinQuiet), slow, true, 0, true},
		{"within the spin: poll", 0, 9 * us, slow, true, 0, false},
		{"slow: until the spin", 3, 900 * us, slow, true, 890 * us, false},
		{"fast, idle: until the spin", 0, 8 * us, fast, true, 8*us - int64(spinFor(fast)), false},
		{"fast, answers due: until one comes", 3, 8 * us, fast, true, -1, false},
		{"schedule over", 3, 0, fast, false, int64(maxSleep), false},
	}
	for _, tc := range cases {
		l.busy = tc.busy
		timeout, spin := l.waitFor(now, now+tc.ahead, tc.interval, tc.more)
		if timeout != tc.timeout || spin != tc.spin {
			t.Errorf("%s: timeout %d spin %v; want %d %v", tc.name, timeout, spin, tc.timeout, tc.spin)
		}
	}
	l.busy = 0
}

// TestLoopTimerSlack: the loop sleeps with 1 ns of timer slack, so that
// a wait ends when asked (the default 50 us would send slots that late).
func TestLoopTimerSlack(t *testing.T) {
	url := startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"id":"1"}`) })
	l := newTestLoop(t, Config{Targets: []string{url}, Bodies: [][]byte{benchBody}, Timeout: 5 * time.Second})
	l.p.sched = newSchedule(Constant(1000), time.Second, 2)
	l.run()
	if l.timerSlack != 1 {
		t.Errorf("the loop ran with %d ns of timer slack; want 1", l.timerSlack)
	}
	if b := l.w.c.bids.Load(); b != 2 {
		t.Errorf("got %d bids; want 2", b)
	}
}

// TestPreciseTimersRestore: preciseTimers gives the thread back with the
// slack it had.
func TestPreciseTimersRestore(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const before = 12345
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, before, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0) //nolint:errcheck // back to the default
	slack, restore := preciseTimers()
	restore()
	if slack != 1 {
		t.Errorf("preciseTimers set %d ns of timer slack; want 1", slack)
	}
	if after, _ := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); after != before {
		t.Errorf("after the loop the thread's timer slack is %d ns; want %d as before", after, before)
	}
}

// newTestLoop returns an event loop for cfg (one slot a second, one
// request, unless set), closed with the test, with its clock started.
func newTestLoop(t *testing.T, cfg Config) *evLoop {
	t.Helper()
	if cfg.Steps == nil {
		cfg.Steps, cfg.Count = Constant(1), 1
	}
	cfg = cfg.withDefaults()
	rs, err := newRunState(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := loopAddrs(rs.targets)
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLoop(&cfg, rs, &pacer{stop: new(atomic.Bool)}, addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	rs.clock = clock{start: time.Now()}
	return l
}

// TestLoopCountsSpin: at 10k slots a second the loop sleeps through most
// of each 100 us interval and spins on the clock for the last few
// microseconds (spinQuiet). The spin must be counted, and only the spin:
// counting the sleeps too would come near the whole schedule.
func TestLoopCountsSpin(t *testing.T) {
	url := startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("{}") })
	res := runTest(t, EngineLoop, Config{Targets: []string{url}, Steps: Constant(10_000), Count: 500, Connections: 4, Timeout: 5 * time.Second})
	if res.Bids != 500 {
		t.Fatalf("bids %d errors %d; want 500, 0 (last error %q)", res.Bids, res.Errors, res.Targets[0].LastError)
	}
	t.Logf("spun %s over a %s schedule", res.Saturation.Spin, res.Window)
	s := res.Saturation.Spin
	if s >= res.Window/2 {
		t.Fatalf("spin %s over a %s schedule; want below half of it", s, res.Window)
	}
	if s <= 0 {
		// The loop sleeps until maxLoopSpin before a slot and spins
		// within spinQuiet of it. A VM whose timed waits all end later
		// than the difference never gets there: its slots go out late
		// instead, with nothing spun.
		if late := minWakeLateness(t, 200); late > maxLoopSpin-spinQuiet {
			t.Skipf("spun 0 s: this machine's timed waits end at least %s late (200 waits of 50 us, timer slack 1 ns), so the loop cannot reach the last %s before a slot; the upper bound held", late, spinQuiet)
		}
		t.Fatalf("spin 0 s over a %s schedule; want above 0", res.Window)
	}
}

// minWakeLateness returns the least lateness of n timed waits of 50 us,
// made as the loop makes them (epoll_pwait2 with 1 ns of timer slack).
func minWakeLateness(t *testing.T, n int) time.Duration {
	t.Helper()
	_, restore := preciseTimers()
	defer restore()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	l := &evLoop{epfd: ep}
	least := time.Duration(math.MaxInt64)
	for range n {
		start := time.Now()
		if _, err := l.epollWait(int64(50 * time.Microsecond)); err != nil {
			continue // EINTR
		}
		least = min(least, time.Since(start)-50*time.Microsecond)
	}
	return least
}
