package bench

import (
	"fmt"
	"time"
)

// Point is one measured phase: one server held at one target rate.
type Point struct {
	Server string  // "ceiling" or "rtbd"
	Label  string  // latency phases: "5k", "50% max"; empty in the search
	Target float64 // scheduled requests per second
	Rate   float64 // achieved requests per second

	Answered                                int64 // bids + nobids
	Bids, NoBids, Errors, Timeouts, Dropped int64
	// Shed counts rtbd's shed and timed-out answers (204s that are not a
	// decision), read from its /metrics.
	Shed int64
	// ErrorRate is (errors + timeouts + dropped + shed) / scheduled.
	ErrorRate float64

	P50, P90, P99, P999, Max time.Duration

	// ServerCPU and LoadCPU are the CPU time (user + system) of the server
	// process and of rtbload per sent request during the phase; 0 when
	// unknown.
	ServerCPU time.Duration
	LoadCPU   time.Duration
	// LoadSpin is the part of LoadCPU that rtbload's event loop spent
	// spinning on the clock just before a slot's time, per sent request
	// (load.Saturation.Spin): idle time, which a saturated loop never
	// spends.
	LoadSpin time.Duration
	// Foreign is the CPU that processes other than the bench's used during
	// the phase, and Steal the time the hypervisor took, both in CPUs
	// (1.0 is one core busy throughout): this machine's noise, measured.
	Foreign, Steal float64
	// Handler is rtbd's mean bid handler time per request during the
	// phase, from its own request-duration histogram; 0 for the ceiling.
	Handler time.Duration
	// ServerBusy and LoadBusy are the server's and rtbload's CPU over the
	// phase's wall time: 1.0 is their core saturated.
	ServerBusy, LoadBusy float64

	// MaxBehind, Late and Backlog are rtbload's saturation figures: the
	// largest delay of a send after its intended time, the sends more than
	// 1 ms late and the slots that waited for a free connection.
	MaxBehind time.Duration
	Late      int64
	Backlog   int64

	// Pass and Why hold the verdict of [Criteria.Check] in the search.
	Pass bool
	Why  string
}

// Criteria decide whether a server sustained a target rate.
type Criteria struct {
	// MinRateFraction is the least achieved/target rate, e.g. 0.95.
	MinRateFraction float64
	// MaxErrorRate bounds (errors + timeouts + dropped) / scheduled, e.g. 0.001.
	MaxErrorRate float64
	// MaxP99 bounds the p99 latency: above it the server is queueing.
	MaxP99 time.Duration
}

// Check reports whether p meets c and, when it does not, why.
func (c Criteria) Check(p *Point) (bool, string) {
	switch {
	case p.Rate < c.MinRateFraction*p.Target:
		return false, fmt.Sprintf("achieved %.0f/s < %.0f%% of %.0f/s", p.Rate, 100*c.MinRateFraction, p.Target)
	case p.ErrorRate > c.MaxErrorRate:
		return false, fmt.Sprintf("error rate %.3f%% > %.3f%%", 100*p.ErrorRate, 100*c.MaxErrorRate)
	case p.P99 > c.MaxP99:
		return false, fmt.Sprintf("p99 %s > %s", fmtDur(p.P99), fmtDur(c.MaxP99))
	}
	return true, ""
}

// Search configures the open-loop search for a server's maximum
// throughput: rates grow geometrically from Start until a step fails, then
// Bisect steps narrow the gap between the last pass and the first failure.
type Search struct {
	Start   float64 // first rate, requests per second
	Growth  float64 // factor between growing steps, > 1
	Limit   float64 // highest rate tried
	Bisect  int     // refining steps after the first failure
	Retries int     // extra attempts of a failed step before it counts as failed
	Criteria
	// NoisyCPUs, when > 0, marks a failed step that says nothing of the
	// server: its core was less than half busy while other processes and
	// the hypervisor took more than NoisyCPUs. Such a step is measured
	// again, up to NoisyRetries times beyond Retries, instead of ending
	// the search there: a minute of the hypervisor's steal once stopped
	// the ceiling's search at 4.8k req/s.
	NoisyCPUs    float64
	NoisyRetries int
}

// noisy reports whether failed step p is one that NoisyCPUs marks.
func (s *Search) noisy(p *Point) bool {
	return s.NoisyCPUs > 0 && p.ServerBusy < 0.5 && p.noise() > s.NoisyCPUs
}

// maxShrink bounds how often the search lowers the start rate when the
// very first step fails.
const maxShrink = 4

// FindMax searches the highest rate that measure sustains under s.Criteria
// and returns the achieved rate of the best passing step (0 when none
// passed) with every step measured, in order. Retries absorb a single
// stall of this noisy machine; they never turn a failing rate into the
// reported maximum without a passing measurement. measure errors abort the
// search.
func FindMax(s Search, measure func(rate float64) (Point, error)) (float64, []Point, error) {
	if !(s.Start > 0) || !(s.Growth > 1) || s.Limit < s.Start {
		return 0, nil, fmt.Errorf("cannot search: want start > 0, growth > 1 and limit >= start; got %g, %g, %g", s.Start, s.Growth, s.Limit)
	}
	f := &finder{s: s, measure: measure}
	lo, hi, err := f.bracket()
	if err != nil || lo == 0 {
		return f.best, f.steps, err
	}
	for range s.Bisect {
		if hi == 0 {
			break // never failed up to the limit
		}
		mid := (lo + hi) / 2
		ok, err := f.try(mid)
		if err != nil {
			return f.best, f.steps, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return f.best, f.steps, nil
}

type finder struct {
	s       Search
	measure func(rate float64) (Point, error)
	steps   []Point
	best    float64
}

// bracket returns the last passing rate and the first failing one (0 when
// none failed up to the limit). When the start rate fails it lowers the
// rate a few times instead; lo is 0 when nothing passed.
func (f *finder) bracket() (lo, hi float64, err error) {
	ok, err := f.try(f.s.Start)
	switch {
	case err != nil:
		return 0, 0, err
	case ok:
		return f.grow(f.s.Start)
	}
	return f.shrink(f.s.Start)
}

func (f *finder) grow(lo float64) (float64, float64, error) {
	for rate := lo * f.s.Growth; rate <= f.s.Limit; rate *= f.s.Growth {
		ok, err := f.try(rate)
		if err != nil || !ok {
			return lo, rate, err
		}
		lo = rate
	}
	return lo, 0, nil
}

func (f *finder) shrink(hi float64) (float64, float64, error) {
	for range maxShrink {
		rate := hi / f.s.Growth
		ok, err := f.try(rate)
		if err != nil || ok {
			return rate, hi, err
		}
		hi = rate
	}
	return 0, hi, nil
}

// try measures rate up to 1+Retries times, not counting up to
// NoisyRetries noisy failures, and reports whether one passed.
func (f *finder) try(rate float64) (bool, error) {
	for failed, noisy := 0, 0; failed < 1+max(f.s.Retries, 0); {
		p, err := f.measure(rate)
		if err != nil {
			return false, err
		}
		p.Pass, p.Why = f.s.Check(&p)
		if !p.Pass && noisy < f.s.NoisyRetries && f.s.noisy(&p) {
			noisy++
			p.Why += "; noisy, measured again"
		} else {
			failed++
		}
		f.steps = append(f.steps, p)
		if p.Pass {
			f.best = max(f.best, p.Rate)
			return true, nil
		}
	}
	return false, nil
}
