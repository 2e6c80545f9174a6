package stats

import (
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// LagProbe estimates how long runnable work waits for a CPU.
//
// fasthttp stamps a request just before calling the handler, so the time a
// request spent queued (in the socket, waiting for its goroutine to run) is
// invisible to the handler. The probe wakes every Interval and measures how
// late it woke: when the Go run queue is long, every request waits about as
// long as the probe did. The handler reads [LagProbe.Lag] with one atomic
// load to shed load before the queue grows.
type LagProbe struct {
	lag  atomic.Int64 // smoothed lateness in nanoseconds
	stop chan struct{}
	done chan struct{}
}

// probeInterval trades probe cost (one wake-up) against reaction time.
const probeInterval = 2 * time.Millisecond

var schedLag = metrics.NewGauge(`rtbd_sched_lag_seconds`, nil)

// StartLagProbe starts the probe goroutine; stop it with [LagProbe.Stop].
func StartLagProbe() *LagProbe {
	p := &LagProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *LagProbe) run() {
	defer close(p.done)
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	next := time.Now().Add(probeInterval)
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			late := now.Sub(next)
			if late < 0 {
				late = 0
			}
			next = now.Add(probeInterval)
			p.Observe(late)
		}
	}
}

// Observe folds one measured wake-up lateness into the smoothed lag. The
// probe goroutine calls it every interval; tests call it to simulate load.
// Exponential smoothing with weight 1/4 reacts within a few intervals yet
// ignores a single stall of a noisy host.
func (p *LagProbe) Observe(late time.Duration) {
	old := p.lag.Load()
	v := old + (int64(late)-old)/4
	p.lag.Store(v)
	schedLag.Set(time.Duration(v).Seconds())
}

// Lag returns the smoothed scheduling delay. A nil probe reports 0.
func (p *LagProbe) Lag() time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(p.lag.Load())
}

// Stop ends the probe and waits for its goroutine.
func (p *LagProbe) Stop() {
	close(p.stop)
	<-p.done
}
