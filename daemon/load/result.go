package load

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one run. Counts are exact; percentiles are
// never below the exact value and at most 0.8 % above it (per-second p99
// 3.2 %). In JSON, durations are
// integer nanoseconds (the _ns fields).
type Result struct {
	Targets []TargetResult `json:"targets"`
	// Elapsed is the whole run, including the wait for the last responses.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Window is the span of the schedule that was run: from the start to
	// the intended time of the slot after the last one.
	Window time.Duration `json:"window_ns"`
	// Interrupted is set when the run's context ended it (rtbload: SIGINT
	// or SIGTERM), possibly before its schedule did: Window is then the
	// part that ran, and Check fails every assertion.
	Interrupted bool `json:"interrupted"`
	// Scheduled counts the slots the pacer produced; Sent those sent to a
	// target. The rest were Dropped or Expired, or never left: every
	// target's breaker was open (NoTarget) or no connection opened (a
	// dial error), counted in Errors.
	Scheduled int64 `json:"scheduled"`
	Sent      int64 `json:"sent"`
	Bids      int64 `json:"bids"`
	NoBids    int64 `json:"nobids"`
	// Errors counts other statuses, transport errors and slots for which
	// every target's breaker was open (NoTarget, also counted here).
	Errors   int64 `json:"errors"`
	Timeouts int64 `json:"timeouts"`
	NoTarget int64 `json:"no_target"`
	// Rate is the achieved send rate, Sent / Window, in requests per second.
	Rate float64 `json:"rate"`
	// Latency covers answered requests and timeouts, measured from the
	// intended send time; connection failures are left out.
	Latency    Latency    `json:"latency"`
	Saturation Saturation `json:"saturation"`
	// LongestGap is the longest time without a successful (200 or 204)
	// response, starting at LongestGapAt; the run's start and end count as
	// edges.
	LongestGap   time.Duration `json:"longest_gap_ns"`
	LongestGapAt time.Duration `json:"longest_gap_at_ns"`
	// ZeroSeconds counts the seconds whose scheduled requests all failed.
	ZeroSeconds int      `json:"zero_seconds"`
	Series      []Second `json:"series"`

	hist Histogram
}

// Latency summarises the latency histogram.
type Latency struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Saturation describes how well rtbload kept its own schedule.
type Saturation struct {
	// MaxBehind is the largest delay between a slot's intended time and
	// its send.
	MaxBehind time.Duration `json:"max_behind_ns"`
	// PacerMaxBehind is the pacer's own largest delay in releasing a slot;
	// when it is far below MaxBehind, slots waited for connections.
	PacerMaxBehind time.Duration `json:"pacer_max_behind_ns"`
	// Late counts sends more than 1 ms behind their intended time.
	Late int64 `json:"late"`
	// Backlog counts slots that waited because every connection was busy;
	// MaxQueue is the deepest such wait queue.
	Backlog  int64 `json:"backlog"`
	MaxQueue int64 `json:"max_queue"`
	// Dropped counts slots not sent because the queue was full.
	Dropped int64 `json:"dropped"`
	// Expired counts slots not sent because they had waited their whole
	// Timeout for a free connection; they are counted as timeouts.
	Expired int64 `json:"expired"`
	// Spin is the time the event loop spun on the clock, with nothing
	// else to do, in the last few microseconds before a slot (see
	// spinQuiet): idle time spent on sending at the slot's time rather
	// than a wake-up later, which a saturated loop never spends. rtbload's
	// CPU time less Spin is what its requests cost it. The goroutine
	// engine's pacer yields to the workers as it waits, so its spin is
	// not counted: 0.
	Spin time.Duration `json:"spin_ns"`
}

// TargetResult holds the counts of one target.
type TargetResult struct {
	URL string `json:"url"`
	// Sent counts the attempts on the target: a request that failed over
	// from another counts on both, so the targets' sum may exceed the
	// run's Sent.
	Sent         int64 `json:"sent"`
	Bids         int64 `json:"bids"`
	NoBids       int64 `json:"nobids"`
	Errors       int64 `json:"errors"`
	Timeouts     int64 `json:"timeouts"`
	DialErrors   int64 `json:"dial_errors"`
	BreakerOpens int64 `json:"breaker_opens"`
	// Retries counts requests re-sent once because the server closed or
	// reset a kept-alive connection before answering, and, with a single
	// target, connections tried once more after a failed connect.
	Retries int64 `json:"retries"`
	// ErrorKinds splits Errors by cause; LastError is the text of the
	// latest one.
	ErrorKinds ErrorKinds `json:"error_kinds"`
	LastError  string     `json:"last_error,omitempty"`
}

// ErrorKinds counts a target's errors by cause.
type ErrorKinds struct {
	Status int64 `json:"status"`  // answered with a status other than 200 or 204
	Dial   int64 `json:"dial"`    // could not connect
	Closed int64 `json:"closed"`  // closed or reset before the whole answer, after the one retry
	NoConn int64 `json:"no_conn"` // every connection busy
	Other  int64 `json:"other"`
}

func (t *target) errorKinds() ErrorKinds {
	k := &t.errKinds
	return ErrorKinds{
		Status: k[errStatus].Load(), Dial: k[errDial].Load(), Closed: k[errClosed].Load(),
		NoConn: k[errNoConn].Load(), Other: k[errOther].Load(),
	}
}

// Second holds the counts of the requests scheduled in one second.
type Second struct {
	Second   int           `json:"second"`
	Sent     int64         `json:"sent"`
	Bids     int64         `json:"bids"`
	NoBids   int64         `json:"nobids"`
	Errors   int64         `json:"errors"`
	Timeouts int64         `json:"timeouts"`
	Dropped  int64         `json:"dropped"`
	P99      time.Duration `json:"p99_ns"`
}

func newResult(cfg *Config, rs *runState, p *pacer, workers []*worker) *Result {
	end := rs.clock.now()
	r := &Result{Elapsed: time.Duration(end), Window: p.sched.window()}
	var c counts
	for _, w := range workers {
		c.add(&w.c)
		r.Saturation.MaxBehind = max(r.Saturation.MaxBehind, time.Duration(w.maxBehind.Load()))
	}
	for _, h := range rs.hists {
		r.hist.Merge(&h.h)
	}
	r.Scheduled = p.scheduled.Load()
	r.Sent, r.Bids, r.NoBids = c.sent.Load()-c.unsent.Load(), c.bids.Load(), c.nobids.Load()
	r.Errors, r.Timeouts = c.errs.Load(), c.timeouts.Load()
	r.NoTarget = rs.noTarget.Load()
	if r.Window > 0 {
		r.Rate = float64(r.Sent) / r.Window.Seconds()
	}
	r.Latency = summarize(&r.hist)
	r.Saturation.Late = c.late.Load()
	r.Saturation.PacerMaxBehind = time.Duration(p.maxLate.Load())
	r.Saturation.Backlog = p.backlog.Load()
	r.Saturation.MaxQueue = p.maxQueue.Load()
	r.Saturation.Dropped = p.dropped.Load()
	r.Saturation.Expired = rs.expired.Load()
	r.Saturation.Spin = time.Duration(p.spin.Load())
	r.LongestGap, r.LongestGapAt = rs.gaps.finish(end)
	for _, t := range rs.targets {
		r.Targets = append(r.Targets, TargetResult{
			URL: t.url, Sent: t.sent.Load(), Bids: t.bids.Load(), NoBids: t.nobids.Load(),
			Errors: t.errs.Load(), Timeouts: t.timeouts.Load(), DialErrors: t.dialErrs.Load(),
			BreakerOpens: t.br.opens.Load(), Retries: t.retries.Load(), ErrorKinds: t.errorKinds(),
		})
		if e := t.lastErr.Load(); e != nil {
			r.Targets[len(r.Targets)-1].LastError = *e
		}
	}
	r.addSeries(rs.series)
	return r
}

func summarize(h *Histogram) Latency {
	return Latency{
		Count: h.Count(), Min: h.Min(), Mean: h.Mean(),
		P50: h.Quantile(0.5), P90: h.Quantile(0.9), P99: h.Quantile(0.99),
		P999: h.Quantile(0.999), Max: h.Max(),
	}
}

func (r *Result) addSeries(s *series) {
	last := -1
	for i := range s.secs {
		if s.peek(i) != nil {
			last = i
		}
	}
	for i := 0; i <= last; i++ {
		sec := Second{Second: i}
		if p := s.peek(i); p != nil {
			sec = Second{
				Second: i, Sent: p.sent.Load() - p.unsent.Load(), Bids: p.bids.Load(), NoBids: p.nobids.Load(),
				Errors: p.errs.Load(), Timeouts: p.timeouts.Load(), Dropped: p.dropped.Load(),
				P99: p.hist.quantile(0.99, uint64(p.latencies.Load())),
			}
		}
		if sec.Sent+sec.Errors+sec.Dropped+sec.Timeouts > 0 && sec.Bids+sec.NoBids == 0 { // expired slots are timeouts, refused ones errors: neither is sent
			r.ZeroSeconds++
		}
		r.Series = append(r.Series, sec)
	}
}

// Quantile returns the q-quantile of all latencies, 0 < q <= 1.
func (r *Result) Quantile(q float64) time.Duration { return r.hist.Quantile(q) }

// JSON returns the result as one JSON object.
func (r *Result) JSON() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic("BUG: cannot marshal a load result: " + err.Error())
	}
	return b
}

// WriteTable writes the result for a human: totals, latency, saturation,
// targets and the per-second series.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	l, s := &r.Latency, &r.Saturation
	cut := ""
	if r.Interrupted {
		cut = " INTERRUPTED"
	}
	fmt.Fprintf(tw, "run\t%s (schedule %s%s), scheduled %d, sent %d, rate %.1f/s\n",
		FormatLatency(r.Elapsed), FormatLatency(r.Window), cut, r.Scheduled, r.Sent, r.Rate)
	fmt.Fprintf(tw, "outcome\tbid %d (%s), nobid %d (%s), error %d (%s), timeout %d (%s), dropped %d (%s)\n",
		r.Bids, r.pct(r.Bids), r.NoBids, r.pct(r.NoBids), r.Errors, r.pct(r.Errors), r.Timeouts, r.pct(r.Timeouts),
		r.Saturation.Dropped, r.pct(r.Saturation.Dropped))
	fmt.Fprintf(tw, "latency\tp50 %s, p90 %s, p99 %s, p99.9 %s, max %s (min %s, mean %s, n %d)\n",
		FormatLatency(l.P50), FormatLatency(l.P90), FormatLatency(l.P99), FormatLatency(l.P999), FormatLatency(l.Max), FormatLatency(l.Min), FormatLatency(l.Mean), l.Count)
	fmt.Fprintf(tw, "generator\tmax behind %s (pacer %s), late(>1ms) %d, backlog %d (max queue %d), dropped %d, expired %d, spun %s\n",
		FormatLatency(s.MaxBehind), FormatLatency(s.PacerMaxBehind), s.Late, s.Backlog, s.MaxQueue, s.Dropped, s.Expired, FormatLatency(s.Spin))
	fmt.Fprintf(tw, "gap\tlongest without success %s at %s, seconds without success %d\n",
		FormatLatency(r.LongestGap), FormatLatency(r.LongestGapAt), r.ZeroSeconds)
	fmt.Fprintf(tw, "\ntarget\tsent\tbid\tnobid\terror\ttimeout\tdial errors\tbreaker opens\n")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", t.URL, t.Sent, t.Bids, t.NoBids, t.Errors, t.Timeouts, t.DialErrors, t.BreakerOpens)
	}
	for _, t := range r.Targets {
		if t.Errors == 0 {
			continue
		}
		k := &t.ErrorKinds
		fmt.Fprintf(tw, "errors	%s: status %d, dial %d, closed %d, no free connection %d, other %d; last: %s\n",
			t.URL, k.Status, k.Dial, k.Closed, k.NoConn, k.Other, t.LastError)
	}
	fmt.Fprintf(tw, "\nsecond\tsent\tbid\tnobid\terror\ttimeout\tdropped\tp99\n")
	for _, x := range r.Series {
		p99 := "-" // no latency measured: all failed to connect, or none scheduled
		if x.Bids+x.NoBids+x.Timeouts > 0 {
			p99 = FormatLatency(x.P99)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", x.Second, x.Sent, x.Bids, x.NoBids, x.Errors, x.Timeouts, x.Dropped, p99)
	}
	return tw.Flush()
}

// pct is n as a share of the scheduled slots: those dropped count too,
// so that a generator that could not keep its schedule does not show
// the outcomes of the requests it sent as the whole.
func (r *Result) pct(n int64) string {
	all := r.Scheduled
	if all <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(all))
}

// FormatLatency formats a latency for humans: whole microseconds below
// 1 ms, milliseconds with two decimals below 1 s, else seconds.
func FormatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fus", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
}
