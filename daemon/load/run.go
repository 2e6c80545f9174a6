package load

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// lateThreshold is how far behind its intended time a send counts as late.
const lateThreshold = int64(time.Millisecond)

// runState is what the workers of one run share.
type runState struct {
	clock    clock
	timeout  int64
	bodies   [][]byte
	gzip     bool
	targets  []*target
	rr       atomic.Uint64 // round-robin position over targets
	series   *series
	gaps     gapTracker
	noTarget atomic.Int64 // slots with every breaker open
	expired  atomic.Int64 // slots whose deadline passed in the queue
	hists    []*histShard
}

// Run sends load as cfg describes until the schedule, count or ctx ends,
// waits for the requests in flight (at most Timeout), and returns the
// result. A cancelled ctx stops the schedule early and still returns the
// result so far, marked Interrupted. Progress, when not nil, receives a status line each
// second. Run returns an error only for an invalid cfg.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot run load: %w", err)
	}
	return run(ctx, cfg.withDefaults(), progress)
}

// run is Run without validation: benchmarks exceed MaxRate with it.
func run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	rs, err := newRunState(&cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot run load: %w", err)
	}
	var stop, interrupted atomic.Bool
	p := &pacer{
		sched:  newSchedule(cfg.Steps, cfg.Duration, countOrMax(cfg.Count)),
		stop:   &stop,
		onDrop: func(slot int64) { rs.series.at(slot).dropped.Add(1) },
	}
	loop, loopWorker, err := startLoop(&cfg, rs, p)
	if err != nil {
		return nil, fmt.Errorf("cannot run load: %w", err)
	}
	var workers []*worker
	if loop != nil {
		workers = []*worker{loopWorker}
	} else {
		p.out = make(chan int64, cfg.MaxBacklog)
		workers = make([]*worker, cfg.Connections)
		for i := range workers {
			workers[i] = newWorker(rs, i)
		}
	}
	if loop == nil {
		preconnect(workers)
	}
	rs.clock = clock{start: time.Now()}
	p.clock = rs.clock
	var wg sync.WaitGroup
	if loop == nil {
		for _, w := range workers {
			wg.Go(func() { w.run(p.out) })
		}
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			interrupted.Store(true)
			stop.Store(true)
		case <-done:
		}
	}()
	stopProgress := startProgress(progress, rs, p, workers)
	if loop != nil {
		loop()
	} else {
		p.run()
	}
	wg.Wait()
	close(done)
	stopProgress()
	r := newResult(&cfg, rs, p, workers)
	r.Interrupted = interrupted.Load()
	return r, nil
}

// preconnect opens every worker's connection to the first target, all at
// once, before the schedule starts, as the event loop's preconnect does
// for its lanes (see there why). A connection that does not open within
// the run's timeout is dialed on demand, as before.
func preconnect(workers []*worker) {
	var wg sync.WaitGroup
	for _, w := range workers {
		if c, ok := w.clients[0].(*connClient); ok {
			wg.Go(func() { c.connect() }) //nolint:errcheck // dialed again on demand
		}
	}
	wg.Wait()
}

func countOrMax(n int64) int64 {
	if n == 0 {
		return MaxCount
	}
	return n
}

func newRunState(cfg *Config) (*runState, error) {
	rs := &runState{
		timeout: int64(cfg.Timeout),
		bodies:  cfg.Bodies,
		gzip:    cfg.Gzip,
		series:  newSeries(cfg.Duration + cfg.Timeout),
	}
	for range min(cfg.Connections, maxHistShards) {
		rs.hists = append(rs.hists, new(histShard))
	}
	if len(rs.bodies) == 0 {
		rs.bodies = DefaultBodies(100, 1)
	}
	if cfg.Gzip {
		rs.bodies = gzipBodies(rs.bodies)
	}
	threshold := int32(cfg.BreakerThreshold)
	if len(cfg.Targets) == 1 {
		threshold = 0 // no fallback: keep sending and measuring
	}
	for _, raw := range cfg.Targets {
		u, err := checkTarget(raw, cfg.AllowRemote)
		if err != nil {
			return nil, err
		}
		t := &target{url: raw, scheme: u.Scheme, host: u.Host}
		t.br.threshold = threshold
		t.br.cooldown = int64(cfg.BreakerCooldown)
		if cfg.newDoer != nil {
			t.newClient = cfg.newDoer
		} else {
			t.newClient = clientFactory(u, cfg, &t.retries)
		}
		rs.targets = append(rs.targets, t)
	}
	return rs, nil
}

// pick returns the next target whose breaker allows a request, skipping
// skip; nil when there is none.
func (rs *runState) pick(now int64, skip *target) *target {
	n := uint64(len(rs.targets))
	if n == 1 {
		if t := rs.targets[0]; t != skip && t.br.allow(now) {
			return t
		}
		return nil
	}
	start := rs.rr.Add(1)
	for i := range n {
		t := rs.targets[(start+i)%n]
		if t != skip && t.br.allow(now) {
			return t
		}
	}
	return nil
}

// startProgress prints a status line to w once a second until the
// returned function is called.
func startProgress(w io.Writer, rs *runState, p *pacer, workers []*worker) func() {
	if w == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				writeProgress(w, rs, p, workers)
			}
		}
	})
	return func() { close(stop); wg.Wait() }
}

func writeProgress(w io.Writer, rs *runState, p *pacer, workers []*worker) {
	now := rs.clock.now()
	var c counts
	var behind int64
	for _, wk := range workers {
		c.add(&wk.c)
		behind = max(behind, wk.maxBehind.Load())
	}
	var p99 time.Duration
	if s := rs.series.peek(int(now/int64(time.Second)) - 1); s != nil {
		p99 = s.hist.quantile(0.99, uint64(s.latencies.Load()))
	}
	fmt.Fprintf(w, "rtbload: %4.0fs sent %d (%.0f/s) bid %d nobid %d error %d timeout %d | last s p99 %s | behind max %s (pacer %s) queue %d dropped %d expired %d\n",
		float64(now)/1e9, c.sent.Load()-c.unsent.Load(), float64(c.sent.Load()-c.unsent.Load())*1e9/float64(max(now, 1)),
		c.bids.Load(), c.nobids.Load(), c.errs.Load(), c.timeouts.Load(),
		FormatLatency(p99), FormatLatency(time.Duration(behind)), FormatLatency(time.Duration(p.maxLate.Load())), p.queueLen(), p.dropped.Load(), rs.expired.Load())
}
