//go:build linux && !race

package load

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestLoopAllocs covers the event loop's whole per-request path on a real
// loopback connection: dispatch, writev, epoll, read, the answer's
// framing and the counters.
func TestLoopAllocs(t *testing.T) {
	url := startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"id":"1"}`) })
	l := newTestLoop(t, Config{Targets: []string{url}, Bodies: [][]byte{benchBody}, Timeout: time.Hour})
	rs := l.rs
	do := func() {
		now := rs.clock.now()
		l.dispatch(now, now)
		l.checkDeadlines(now) // as run does: the wait is bounded by the next deadline
		for l.busy > 0 {
			l.wait(rs.clock.now(), 0, 0, false)
		}
	}
	do() // connects, allocates the read buffer and the series' second
	if n := testing.AllocsPerRun(200, do); n != 0 {
		t.Fatalf("the event loop allocates %.1f times per request; want 0", n)
	}
	if b := l.w.c.bids.Load(); b != 202 { // AllocsPerRun warms up once
		t.Fatalf("got %d bids; want 202", b)
	}
}
