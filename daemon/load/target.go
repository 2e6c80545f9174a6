package load

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// ParseTargets splits comma-separated target URLs, the -target flag, and
// appends them to dst.
func ParseTargets(dst []string, s string) []string {
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			dst = append(dst, t)
		}
	}
	return dst
}

// checkTarget validates a target URL and returns its host:port. Without
// allowRemote only loopback hosts are accepted: a load generator aimed at a
// production exchange by mistake is a costly typo.
func checkTarget(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("cannot parse target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: want an http:// or https:// URL", raw)
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("target %q: want an explicit port from 1 to 65535, e.g. http://127.0.0.1:8080/openrtb2/bid", raw)
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("target %q is not on loopback (127.0.0.0/8, ::1, localhost); pass -allow-remote to load a remote host", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// doer sends one request: a worker's own connClient for http targets,
// a shared *fasthttp.HostClient for https ones, and a trivial one in
// benchmarks.
type doer interface {
	DoDeadline(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error
}

// target is one endpoint with its client, breaker and counters. The
// counters are shared by the workers.
type target struct {
	url          string
	scheme, host string // of url, checked
	// newClient returns a worker's client for the target.
	newClient func() doer
	br        breaker

	sent, bids, nobids, errs, timeouts atomic.Int64
	// dialErrs counts connection failures; the request then moves on to
	// another target (it never left the client, so that is safe).
	dialErrs atomic.Int64
	// retries counts requests re-sent because their kept-alive connection
	// was closed or reset before the whole answer arrived (see retryClosed).
	retries atomic.Int64
	// errKinds counts errors by cause; lastErr is the text of the latest
	// transport error, so that a failed run says why.
	errKinds [numErrKinds]atomic.Int64
	lastErr  atomic.Pointer[string]
}

// errKind is the cause of a request counted as an error.
type errKind int

const (
	errStatus errKind = iota // an answer other than 200 or 204
	errDial                  // could not connect
	errClosed                // connection closed or reset before an answer
	errNoConn                // every connection to the target was busy
	errOther
	numErrKinds
)

// errKindOf tells why err (or status, when err is nil) is an error.
func errKindOf(err error) errKind {
	switch {
	case err == nil:
		return errStatus
	case isDialError(err):
		return errDial
	case isConnClosed(err):
		return errClosed
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return errNoConn
	}
	return errOther
}

// noteError counts an error of the target and keeps its text.
func (t *target) noteError(err error, status int) {
	t.errKinds[errKindOf(err)].Add(1)
	msg := fmt.Sprintf("status %d", status)
	if err != nil {
		msg = err.Error()
	}
	t.lastErr.Store(&msg)
}

// clientFactory returns how workers get their client for the target u:
// for http a connection of their own each (connClient), for https one
// HostClient that they share, which brings TLS.
func clientFactory(u *url.URL, cfg *Config, retries *atomic.Int64) func() doer {
	dial := taggedDial(cfg)
	if u.Scheme == "https" {
		hc := newHostClient(u, cfg, dial, retries)
		return func() doer { return hc }
	}
	rsize := readBufferSize(cfg.Connections * len(cfg.Targets))
	return func() doer {
		return &connClient{addr: u.Host, dial: dial, retries: retries, slack: cfg.Timeout / 2, rsize: rsize}
	}
}

// taggedDial dials TCP with the run's timeout, or cfg.Dial, and tags its
// errors, so that the worker knows the request was never sent and may
// fail over.
func taggedDial(cfg *Config) func(addr string) (net.Conn, error) {
	dial := cfg.Dial
	if dial == nil {
		timeout := cfg.Timeout
		dial = func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, timeout) }
	}
	return func(addr string) (net.Conn, error) {
		c, err := dial(addr)
		if err != nil {
			return nil, &dialError{err: err}
		}
		return c, nil
	}
}

func newHostClient(u *url.URL, cfg *Config, dial fasthttp.DialFunc, retries *atomic.Int64) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          u.Host,
		IsTLS:                         true,
		TLSConfig:                     &tls.Config{RootCAs: cfg.RootCAs},
		MaxConns:                      cfg.Connections,
		Dial:                          dial,
		RetryIfErr:                    retryClosed(retries),
		MaxIdleConnDuration:           time.Minute,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
}

// retryClosed re-sends a bid request once when its connection was closed
// or reset before the whole answer arrived, within the request's original
// deadline. An exchange's HTTP client does the same: no answer arrived,
// and a bid request has no side effect until a win notice. This is what
// happens when a draining bidder closes a connection, or a VRRP address
// moves, between two requests on the same connection, and when the move
// catches an answer half-sent: the client's acknowledgements reach the new
// master, which resets the connection (seen in the drain system test,
// about one run in three). Without it those requests count as errors
// although no bid was lost.
func retryClosed(retries *atomic.Int64) fasthttp.RetryIfErrFunc {
	return func(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
		if attempts > 1 || !isConnClosed(err) {
			return false, false
		}
		retries.Add(1)
		return false, true
	}
}

// isConnClosed reports a connection that the server closed or reset before
// answering.
func isConnClosed(err error) bool {
	return errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// dialError marks a failure to connect: the request did not leave.
type dialError struct{ err error }

func (e *dialError) Error() string { return "cannot connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func isDialError(err error) bool {
	var de *dialError
	return errors.As(err, &de) || errors.Is(err, fasthttp.ErrDialTimeout)
}

// breaker is a per-target circuit breaker: after threshold consecutive
// failures it opens for cooldown, then lets one probe through (half-open);
// the probe's success closes it, its failure reopens it. Times are
// run-relative nanoseconds. A zero threshold disables it. Safe for
// concurrent use; the closed state costs one atomic load per request.
type breaker struct {
	threshold int32
	cooldown  int64
	fails     atomic.Int32
	openUntil atomic.Int64 // 0: closed
	probing   atomic.Bool
	opens     atomic.Int64
}

// allow reports whether a request may go to the target at now.
func (b *breaker) allow(now int64) bool {
	until := b.openUntil.Load()
	if until == 0 {
		return true
	}
	if now < until {
		return false
	}
	return b.probing.CompareAndSwap(false, true)
}

func (b *breaker) success() {
	if b.fails.Load() != 0 {
		b.fails.Store(0)
	}
	if b.openUntil.Load() != 0 {
		b.openUntil.Store(0)
		b.probing.Store(false)
	}
}

func (b *breaker) failure(now int64) {
	if b.threshold <= 0 {
		return
	}
	if b.openUntil.Load() != 0 {
		// A failed probe, or a request sent before the breaker opened.
		b.openUntil.Store(now + b.cooldown)
		b.probing.Store(false)
		return
	}
	if b.fails.Add(1) >= b.threshold && b.openUntil.CompareAndSwap(0, now+b.cooldown) {
		b.fails.Store(0)
		b.opens.Add(1)
	}
}
