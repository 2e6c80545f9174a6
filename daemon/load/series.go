package load

import (
	"sync"
	"sync/atomic"
	"time"
)

// second holds the counts of the requests scheduled in one second of the
// run. Every worker updates it, so the fields are atomic.
type second struct {
	sent, unsent, bids, nobids, errs, timeouts, dropped atomic.Int64
	latencies                                           atomic.Int64 // values in hist
	hist                                                seriesHist
}

// series is the per-second time series, indexed by the second of each
// request's intended send time, so that every request is in exactly one
// second and a second's p99 reflects the requests scheduled in it. Seconds
// are allocated when first used (4 KiB each).
type series struct {
	secs []atomic.Pointer[second]
}

func newSeries(d time.Duration) *series {
	return &series{secs: make([]atomic.Pointer[second], int(d/time.Second)+1)}
}

// at returns the second of a run-relative offset.
func (s *series) at(offset int64) *second {
	i := min(max(int(offset/int64(time.Second)), 0), len(s.secs)-1)
	if p := s.secs[i].Load(); p != nil {
		return p
	}
	p := new(second)
	if s.secs[i].CompareAndSwap(nil, p) {
		return p
	}
	return s.secs[i].Load()
}

// peek returns second i, or nil if nothing happened in it yet.
func (s *series) peek(i int) *second {
	if i < 0 || i >= len(s.secs) {
		return nil
	}
	return s.secs[i].Load()
}

// gapTracker finds the longest time without a successful response. Each
// success swaps in its completion time and measures the gap since the
// previous one; concurrent swaps may misorder two successes by the
// microseconds between them, which is far below what a gap is about.
type gapTracker struct {
	last atomic.Int64 // run-relative time of the latest success
	max  atomic.Int64

	mu    sync.Mutex // guards maxAt, taken only when a new maximum is found
	maxAt int64
}

func (g *gapTracker) success(now int64) {
	g.observe(g.last.Swap(now), now)
}

// observe records the gap from prev to now if it is the longest so far.
func (g *gapTracker) observe(prev, now int64) {
	gap := now - prev
	if gap <= g.max.Load() {
		return
	}
	g.mu.Lock()
	if gap > g.max.Load() {
		g.max.Store(gap)
		g.maxAt = prev
	}
	g.mu.Unlock()
}

// finish closes the last gap at the end of the run and returns the longest
// gap and its start.
func (g *gapTracker) finish(end int64) (gap, at time.Duration) {
	g.observe(g.last.Load(), end)
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Duration(g.max.Load()), time.Duration(g.maxAt)
}
