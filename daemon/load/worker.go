package load

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// counts are outcome counters. Workers own theirs and update them
// atomically only so that the progress line may read them.
type counts struct {
	sent, unsent, bids, nobids, errs, timeouts, late atomic.Int64
}

func (c *counts) add(o *counts) {
	c.sent.Add(o.sent.Load())
	c.unsent.Add(o.unsent.Load())
	c.bids.Add(o.bids.Load())
	c.nobids.Add(o.nobids.Load())
	c.errs.Add(o.errs.Load())
	c.timeouts.Add(o.timeouts.Load())
	c.late.Add(o.late.Load())
}

// outcome classifies one request.
type outcome uint8

const (
	outBid outcome = iota
	outNoBid
	outError
	outTimeout
)

// worker owns one connection's worth of sending: it takes slots from the
// pacer and sends one request at a time, reusing its requests (one per
// target, URI and headers set once) and its response.
type worker struct {
	rs *runState
	// reqs and clients are per target: requests with URI and headers
	// set once, and the clients that send them.
	reqs      []*fasthttp.Request
	clients   []doer
	resp      fasthttp.Response
	next      int // next body
	hist      *histShard
	c         counts
	maxBehind atomic.Int64
}

func newWorker(rs *runState, id int) *worker {
	w := newCounters(rs, id)
	for _, t := range rs.targets {
		w.reqs = append(w.reqs, rs.newRequest(t))
		w.clients = append(w.clients, t.newClient())
	}
	return w
}

// newCounters returns worker id without requests and clients: the
// counters, histogram shard and body cursor of its requests.
func newCounters(rs *runState, id int) *worker {
	return &worker{rs: rs, next: id % len(rs.bodies), hist: rs.hists[id%len(rs.hists)]}
}

// newRequest returns a bid request to t with the run's headers, for its
// body to be set before each send.
func (rs *runState) newRequest(t *target) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.SetRequestURI(t.url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Openrtb-Version", "2.6")
	if rs.gzip {
		req.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
	}
	return req
}

// maxHistShards bounds the latency histograms of a run (30 KiB each):
// with more connections, workers share them.
const maxHistShards = 64

// histShard is a histogram shared by the workers i, i+64, ...; the lock
// is uncontended up to 64 connections.
type histShard struct {
	mu sync.Mutex
	h  Histogram
}

func (s *histShard) record(d time.Duration) {
	s.mu.Lock()
	s.h.Record(d)
	s.mu.Unlock()
}

func (w *worker) run(slots <-chan int64) {
	for slot := range slots {
		w.do(slot)
	}
	for _, c := range w.clients {
		if cl, ok := c.(*connClient); ok {
			cl.Close() //nolint:errcheck // the run is over
		}
	}
}

// do sends the request of one slot and records its outcome. Latency counts
// from the intended time, and so does the deadline.
//
// Two rules keep an overload, of the server or of rtbload's own core, from
// turning into a collapse of both. A slot that has already waited its
// whole deadline in the queue is a timeout and is not sent: nobody would
// wait for its answer. And an answer after the deadline counts as a
// timeout but is still read, for half to one more Timeout, on the same
// connection: closing it would make the next request connect again, and
// measured here at 35-40k req/s, one stall of a few milliseconds was
// enough for rtbload to spend its core on 14,000 connects a second and
// rtbd half of its own on accepting and closing them, answering about 40
// requests a second until the end of the run.
func (w *worker) do(slot int64) {
	rs := w.rs
	now := rs.clock.now()
	sec, body, ok := w.begin(slot, now)
	if !ok {
		return
	}
	deadline := rs.clock.at(slot + 2*rs.timeout)
	var skip *target
	for {
		t := rs.pick(now, skip)
		if t == nil {
			rs.noTarget.Add(1)
			w.notSent(sec)
			w.count(sec, nil, outError)
			return
		}
		ti := w.targetIndex(t)
		req, client := w.reqs[ti], w.clients[ti]
		req.SetBodyRaw(body)
		t.sent.Add(1)
		err := client.DoDeadline(req, &w.resp, deadline)
		now = rs.clock.now()
		if err != nil && isDialError(err) && now < slot+rs.timeout {
			// Never sent: try the next target within the same deadline,
			// or, with one target, connect once more. A handshake that
			// straddles a VRRP address move is reset by the new master
			// as soon as it completes; a second connection reaches it.
			t.dialErrs.Add(1)
			t.br.failure(now)
			if len(rs.targets) > 1 {
				skip = t
				continue
			}
			t.retries.Add(1)
			err = client.DoDeadline(req, &w.resp, deadline)
			now = rs.clock.now()
		}
		w.finish(slot, now, sec, t, err)
		return
	}
}

// begin starts the request of slot at now, or counts it as expired (ok
// false) when its deadline passed while it waited for a connection: the
// first half of do, which the event loop shares. It returns the slot's
// second and the next body, and counts the request as sent.
func (w *worker) begin(slot, now int64) (sec *second, body []byte, ok bool) {
	rs := w.rs
	w.noteBehind(now - slot)
	sec = rs.series.at(slot)
	if now >= slot+rs.timeout {
		w.expire(slot, now, sec)
		return nil, nil, false
	}
	body = rs.bodies[w.next]
	if w.next++; w.next == len(rs.bodies) {
		w.next = 0
	}
	sec.sent.Add(1)
	w.c.sent.Add(1)
	return sec, body, true
}

// expire counts a slot whose deadline passed before a worker was free:
// a timeout at its latency so far, against no target.
func (w *worker) expire(slot, now int64, sec *second) {
	w.rs.expired.Add(1)
	w.recordLatency(sec, now-slot)
	w.count(sec, nil, outTimeout)
}

// recordLatency records a latency in the run's and its second's histograms.
func (w *worker) recordLatency(sec *second, lat int64) {
	w.hist.record(time.Duration(lat))
	sec.hist.record(lat)
	sec.latencies.Add(1)
}

func (w *worker) finish(slot, now int64, sec *second, t *target, err error) {
	out := classify(err, w.resp.StatusCode())
	if now-slot > w.rs.timeout && (out == outBid || out == outNoBid) {
		out = outTimeout // answered, but after the deadline
	}
	switch {
	case out == outBid || out == outNoBid:
		t.br.success()
		w.rs.gaps.success(now)
	case out == outTimeout || err != nil || w.resp.StatusCode() >= 500:
		t.br.failure(now)
	default:
		t.br.success() // a 4xx is an answer: the target is alive
	}
	if err == nil || out == outTimeout {
		// Connection failures are not latencies: a dead target would
		// look fast.
		w.recordLatency(sec, now-slot)
	}
	if out == outError {
		t.noteError(err, w.resp.StatusCode())
		if isDialError(err) {
			w.notSent(sec)
		}
	}
	w.count(sec, t, out)
}

// notSent takes back the count of a request as sent (see begin): it never
// left, every target's breaker open or no connection opened. It counts as
// an error, not in the achieved rate.
func (w *worker) notSent(sec *second) {
	w.c.unsent.Add(1)
	sec.unsent.Add(1)
}

func (w *worker) count(sec *second, t *target, out outcome) {
	switch out {
	case outBid:
		w.c.bids.Add(1)
		sec.bids.Add(1)
	case outNoBid:
		w.c.nobids.Add(1)
		sec.nobids.Add(1)
	case outTimeout:
		w.c.timeouts.Add(1)
		sec.timeouts.Add(1)
	default:
		w.c.errs.Add(1)
		sec.errs.Add(1)
	}
	if t != nil {
		t.count(out)
	}
}

func (t *target) count(out outcome) {
	switch out {
	case outBid:
		t.bids.Add(1)
	case outNoBid:
		t.nobids.Add(1)
	case outTimeout:
		t.timeouts.Add(1)
	default:
		t.errs.Add(1)
	}
}

func (w *worker) noteBehind(behind int64) {
	if behind > lateThreshold {
		w.c.late.Add(1)
	}
	if behind > w.maxBehind.Load() {
		w.maxBehind.Store(behind)
	}
}

func (w *worker) targetIndex(t *target) int {
	for i, x := range w.rs.targets {
		if x == t {
			return i
		}
	}
	panic("BUG: target not in the run")
}

// classify maps a transport error and status code to an outcome: 200 is a
// bid, 204 a no-bid, a client deadline a timeout, anything else an error.
func classify(err error, status int) outcome {
	switch {
	case err == nil && status == fasthttp.StatusOK:
		return outBid
	case err == nil && status == fasthttp.StatusNoContent:
		return outNoBid
	case err == nil:
		return outError
	case errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, os.ErrDeadlineExceeded):
		return outTimeout
	default:
		return outError
	}
}
