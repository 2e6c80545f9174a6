package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/sys/unix"

	"github.com/rtbd/rtbd/daemon/stats"
)

// Listen opens the bid listener at addr: one socket, or with reusePort one
// SO_REUSEPORT socket per GOMAXPROCS so the kernel spreads connections over
// accept queues without a shared lock (DESIGN.md section 1).
func Listen(addr string, reusePort bool) ([]net.Listener, error) {
	n := 1
	lc := net.ListenConfig{}
	if reusePort {
		n = runtime.GOMAXPROCS(0)
		lc.Control = setReusePort
	}
	lns := make([]net.Listener, 0, n)
	for i := 0; i < n; i++ {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func setReusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// acceptErrors counts the accept errors a listener got through
// KeepAccepting and waited out.
var (
	acceptErrors   = metrics.NewCounter(`rtbd_accept_errors_total`)
	acceptErrorLog = stats.NewThrottle(time.Second)
)

// KeepAccepting returns ln with an Accept that waits out the errors a
// busy host gets and recovers from: out of file descriptors (EMFILE,
// ENFILE: a connection flood), of buffers or memory, and connections the
// peer aborted before they were accepted. fasthttp's Serve takes any
// accept error but a timeout as the end of its listener, and returns
// with the socket still open, so the kernel would go on completing
// handshakes that nobody answers while every health check passes. The
// wait starts at 5 ms and doubles up to 1 s, as net/http's does.
func KeepAccepting(ln net.Listener) net.Listener { return &keepAccepting{Listener: ln} }

type keepAccepting struct{ net.Listener }

func (l *keepAccepting) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil || !transientAccept(err) {
			return c, err
		}
		acceptErrors.Inc()
		wait = min(max(2*wait, 5*time.Millisecond), time.Second)
		if n, ok := acceptErrorLog.Allow(); ok {
			slog.Warn("cannot accept a connection; retrying", "addr", l.Addr().String(), "err", err, "retryIn", wait, "suppressed", n)
		}
		time.Sleep(wait)
	}
}

// transientAccept reports whether err, from Accept, passes with time.
func transientAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// connLimit bounds the connections of several listeners together: with
// reusePort a socket per core and the HTTPS one, each served by its own
// fasthttp Serve, whose Concurrency bounds only its own connections, so
// that the daemon took that many times http.maxConns (the HTTP audit),
// and sharing it out left the HTTPS listener a sliver (the commit
// review). max <= 0: no bound.
//
// Past max, up to spare more connections are taken on probation (over):
// each gets one request, answered only when it is a notice, and is then
// closed. A win or bill carries money and an exchange may never send it
// again, while the bound is mostly reached by exchanges' idle keep-alive
// connections: refused before its request was read, a bill on a new
// connection was lost (the drain audit).
type connLimit struct {
	max, spare int64
	open, over atomic.Int64
}

// spareConns is the probation room past max connections: 1/64 of them,
// at least 16 and at most 4096.
func spareConns(bound int) int { return min(max(bound/64, 16), 4096) }

var connsRefused = metrics.NewCounter(`rtbd_connections_refused_total`)

// limit returns ln with an Accept that counts its connections against l,
// takes one past the bound on probation while there is spare room (see
// connLimit), and past that answers it with a 503 and closes it, as
// fasthttp does past its Concurrency.
func (l *connLimit) limit(ln net.Listener) net.Listener {
	if l.max <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, l: l}
}

type limitedListener struct {
	net.Listener
	l *connLimit
}

var tooManyConns = []byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")

func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return c, err
		}
		l := ll.l
		counter := &l.open
		if counter.Add(1) > l.max {
			counter.Add(-1)
			if counter = &l.over; counter.Add(1) > l.spare {
				counter.Add(-1)
				connsRefused.Inc()
				c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond)) //nolint:errcheck // best effort
				c.Write(tooManyConns)                                     //nolint:errcheck // best effort
				c.Close()
				continue
			}
		}
		over := counter == &l.over
		if tc, ok := c.(*tls.Conn); ok {
			// fasthttp's IsTLS looks for tls.Conn's methods.
			return &countedTLSConn{Conn: tc, place: place{n: counter, over: over}}, nil
		}
		return &countedConn{Conn: c, place: place{n: counter, over: over}}, nil
	}
}

// onProbation reports whether c was taken past the connection bound
// (see connLimit).
func onProbation(c net.Conn) bool {
	switch c := c.(type) {
	case *countedConn:
		return c.over
	case *countedTLSConn:
		return c.over
	}
	return false
}

// place is a connection's place in a connLimit's count n, given back once.
type place struct {
	n        *atomic.Int64
	over     bool // n is connLimit.over
	released atomic.Bool
}

func (p *place) release() {
	if p.released.CompareAndSwap(false, true) {
		p.n.Add(-1)
	}
}

// countedConn and countedTLSConn give their place back when they close.
type countedConn struct {
	net.Conn
	place
}

func (c *countedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

type countedTLSConn struct {
	*tls.Conn
	place
}

func (c *countedTLSConn) Close() error {
	c.release()
	return c.Conn.Close()
}
