package load

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Step is one segment of a rate schedule: the rate moves linearly from Rate
// to RateTo (requests per second) over Duration. RateTo 0 means a constant
// Rate. The last step's final rate holds until the run's bound, so a
// single Step{Rate: r} is a constant rate.
type Step struct {
	Rate     float64
	RateTo   float64
	Duration time.Duration
}

func (s Step) to() float64 {
	if s.RateTo == 0 {
		return s.Rate
	}
	return s.RateTo
}

// rateAt returns the rate at offset d into the step.
func (s Step) rateAt(d float64) float64 {
	if s.Duration <= 0 || d >= float64(s.Duration) {
		return s.to()
	}
	return s.Rate + (s.to()-s.Rate)*d/float64(s.Duration)
}

// Constant returns the schedule of a constant rate.
func Constant(rate float64) []Step { return []Step{{Rate: rate}} }

// Ramp returns the schedule of a rate moving linearly from one rate to
// another over d.
func Ramp(from, to float64, d time.Duration) []Step {
	return []Step{{Rate: from, RateTo: to, Duration: d}}
}

// ParseRamp parses "FROM:TO" (requests per second), the -ramp flag; the
// ramp spans d.
func ParseRamp(s string, d time.Duration) ([]Step, error) {
	from, to, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("cannot parse ramp %q: want FROM:TO, e.g. 1000:20000", s)
	}
	f, err := parseRate(from)
	if err != nil {
		return nil, fmt.Errorf("cannot parse ramp %q: %w", s, err)
	}
	t, err := parseRate(to)
	if err != nil {
		return nil, fmt.Errorf("cannot parse ramp %q: %w", s, err)
	}
	return Ramp(f, t, d), nil
}

// ParseSteps parses "RATE:DURATION,RATE:DURATION,...", the -steps flag,
// e.g. "1000:5s,5000:10s".
func ParseSteps(s string) ([]Step, error) {
	var steps []Step
	for _, part := range strings.Split(s, ",") {
		rate, dur, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("cannot parse step %q: want RATE:DURATION, e.g. 1000:5s", part)
		}
		r, err := parseRate(rate)
		if err != nil {
			return nil, fmt.Errorf("cannot parse step %q: %w", part, err)
		}
		d, err := time.ParseDuration(dur)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("cannot parse step %q: want a duration > 0 such as 5s", part)
		}
		steps = append(steps, Step{Rate: r, Duration: d})
	}
	return steps, nil
}

func parseRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(r > 0) || r > MaxRate {
		return 0, fmt.Errorf("rate %q must be a number in (0, %g]", s, float64(MaxRate))
	}
	return r, nil
}

// schedule yields the intended send times (nanoseconds since the start of
// the run) of a rate schedule, bounded by a count and an end time.
type schedule struct {
	steps     []Step
	idx       int     // current step
	stepStart float64 // offset of the current step
	next      float64 // offset of the next slot
	end       float64 // no slot at or after this offset
	left      int64   // slots left before the count bound
}

func newSchedule(steps []Step, d time.Duration, count int64) *schedule {
	return &schedule{steps: steps, end: float64(d), left: count}
}

// nextSlot returns the next intended send time, or false when a bound is
// reached.
func (s *schedule) nextSlot() (int64, bool) {
	if s.left <= 0 || s.next >= s.end {
		return 0, false
	}
	s.left--
	slot := s.next
	s.advance()
	return int64(slot), true
}

// window returns the offset the schedule reached: the intended time of the
// slot after the last one produced, which makes sent/window the rate.
func (s *schedule) window() time.Duration {
	return time.Duration(min(s.next, s.end))
}

// advance moves next by one interval at the rate of the interval's
// midpoint, which tracks a ramp closely even when the rate is low.
func (s *schedule) advance() {
	for s.idx < len(s.steps)-1 {
		st := s.steps[s.idx]
		if s.next < s.stepStart+float64(st.Duration) {
			break
		}
		s.stepStart += float64(st.Duration)
		s.idx++
	}
	st := s.steps[s.idx]
	at := s.next - s.stepStart
	half := 0.5e9 / st.rateAt(at)
	next := s.next + 1e9/st.rateAt(at+half)
	// A gap at a low rate must not swallow the next step: the next
	// step's first slot is at its start.
	if end := s.stepStart + float64(st.Duration); s.idx < len(s.steps)-1 && next > end {
		next = end
	}
	s.next = next
}
