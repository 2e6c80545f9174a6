package load

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histograms are log-linear, like HdrHistogram: values below 2^k
// nanoseconds get one bucket each, and every power of two above is split
// into 2^k equal buckets. A bucket's width is at most 1/2^k of its lower
// bound. A quantile reports its bucket's highest value, as HdrHistogram
// does: never below the exact value, and at most 1/2^k above it. See
// http://hdrhistogram.org/ for the scheme.
const (
	// histMaxValue is the largest recorded value; larger ones are clamped.
	// It holds the longest latency a run can measure: a request queued
	// for up to -timeout (1 min at most) before it is sent, then answered
	// up to -timeout after its intended time, and the wait for it.
	histMaxValue = int64(4 * time.Minute)
	// histMaxMSB is the index of the highest set bit of histMaxValue.
	histMaxMSB = 37

	// histBits gives the main histogram 128 buckets per octave: 0.8 %.
	histBits    = 7
	histBuckets = (histMaxMSB - histBits + 2) << histBits

	// seriesBits gives the per-second histograms 32 buckets per octave
	// (3.2 %), which keeps one second's histogram at 4.5 KiB.
	seriesBits    = 5
	seriesBuckets = (histMaxMSB - seriesBits + 2) << seriesBits
)

// bucketIndex returns the bucket of v (nanoseconds, clamped to
// [0, histMaxValue]) in a histogram with 2^k buckets per octave.
func bucketIndex(v int64, k uint) int {
	v = min(max(v, 0), histMaxValue)
	if v < 1<<k {
		return int(v)
	}
	shift := uint(bits.Len64(uint64(v))) - 1 - k
	return int(shift<<k) + int(v>>shift)
}

// bucketBounds returns the lower bound and width of bucket i for 2^k
// buckets per octave; it inverts bucketIndex.
func bucketBounds(i int, k uint) (lower, width int64) {
	if i < 2<<k {
		return int64(i), 1
	}
	shift := uint(i>>k) - 1
	mantissa := int64(i) - int64(shift<<k)
	return mantissa << shift, 1 << shift
}

// bucketTop returns the value reported for bucket i: its highest.
func bucketTop(i int, k uint) int64 {
	lower, width := bucketBounds(i, k)
	return lower + width - 1
}

// quantileRank returns the 1-based rank of quantile q among n values, the
// nearest-rank definition: the smallest value with at least q*n values at
// or below it.
func quantileRank(q float64, n uint64) uint64 {
	r := uint64(math.Ceil(q * float64(n)))
	return min(max(r, 1), n)
}

// Histogram records latencies in fixed memory (32 KiB) with 0.8 % precision
// from 1 ns to 4 min. The zero value is empty and ready to use. A Histogram
// is not safe for concurrent use: rtbload keeps one per worker and merges
// them with [Histogram.Merge] when the run ends.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	sum    float64
	min    int64
	max    int64
}

// Record adds one latency. Negative values count as 0 and values above 4 min
// as 4 min in the buckets; [Histogram.Max] keeps the exact value.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketIndex(v, histBits)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

// Merge adds the values of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest recorded value, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest recorded value, exactly; 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the arithmetic mean; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the q-quantile (0 < q <= 1) by nearest rank: never
// below the exact value, at most 0.8 % above it, and never outside [Min,
// Max]; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := quantileRank(q, h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := min(max(bucketTop(i, histBits), h.min), h.max)
			return time.Duration(v)
		}
	}
	panic("BUG: histogram counts do not add up to its total")
}

// seriesHist is one second's latency histogram in the per-second series.
// Every worker records into it, so the counters are atomic.
type seriesHist struct {
	counts [seriesBuckets]atomic.Uint32
}

func (h *seriesHist) record(v int64) {
	h.counts[bucketIndex(v, seriesBits)].Add(1)
}

// quantile returns the q-quantile of the n values recorded so far (never
// below the exact value, at most 3.2 % above); 0 when n is 0.
func (h *seriesHist) quantile(q float64, n uint64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := quantileRank(q, n)
	var seen uint64
	last := 0
	for i := range h.counts {
		c := uint64(h.counts[i].Load())
		if c == 0 {
			continue
		}
		seen += c
		last = i
		if seen >= rank {
			break
		}
	}
	// While workers still record, n may run ahead of the buckets; the
	// highest non-empty bucket is then the best answer.
	return time.Duration(bucketTop(last, seriesBits))
}
