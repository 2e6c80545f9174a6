package load

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketIndex(t *testing.T) {
	t.Parallel()
	f := func(v int64, k uint, want int) {
		t.Helper()
		if got := bucketIndex(v, k); got != want {
			t.Fatalf("unexpected result for bucketIndex(%d, %d); got %d; want %d", v, k, got, want)
		}
	}
	f(-5, 7, 0)
	f(0, 7, 0)
	f(127, 7, 127)
	f(128, 7, 128)
	f(255, 7, 255)
	f(256, 7, 256) // first bucket of width 2
	f(257, 7, 256)
	f(258, 7, 257)
	f(511, 7, 383)
	f(512, 7, 384)                 // width 4
	f(histMaxValue, 7, 30*128+223) // 2.4e11 >> 30 = 223
	f(histMaxValue*10, 7, 30*128+223)
	f(histMaxValue, 5, 32*32+55) // 2.4e11 >> 32 = 55
	if bucketIndex(histMaxValue, histBits) >= histBuckets || bucketIndex(histMaxValue, seriesBits) >= seriesBuckets {
		t.Fatalf("histMaxValue is outside the bucket arrays")
	}
}

func TestBucketBoundsInvertIndex(t *testing.T) {
	t.Parallel()
	for _, k := range []uint{histBits, seriesBits} {
		prevEnd := int64(0)
		for i := 0; i <= bucketIndex(histMaxValue, k); i++ {
			lower, width := bucketBounds(i, k)
			if lower != prevEnd {
				t.Fatalf("k=%d bucket %d starts at %d; want %d (buckets must tile)", k, i, lower, prevEnd)
			}
			if bucketIndex(lower, k) != i || bucketIndex(lower+width-1, k) != i {
				t.Fatalf("k=%d bucket %d [%d, +%d) does not map back to itself", k, i, lower, width)
			}
			if lower >= 1<<k && float64(width)/float64(lower) > 1/float64(int(1)<<k) {
				t.Fatalf("k=%d bucket %d width %d too wide for lower bound %d", k, i, width, lower)
			}
			prevEnd = lower + width
		}
		if prevEnd <= histMaxValue {
			t.Fatalf("k=%d buckets end at %d; want beyond %d", k, prevEnd, histMaxValue)
		}
	}
}

func TestHistogramQuantilesAgainstOracle(t *testing.T) {
	t.Parallel()
	f := func(name string, gen func(r *rand.Rand) time.Duration) {
		t.Helper()
		r := rand.New(rand.NewPCG(1, 2))
		var h Histogram
		vals := make([]time.Duration, 20000)
		for i := range vals {
			vals[i] = gen(r)
			h.Record(vals[i])
		}
		slices.Sort(vals)
		for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
			want := vals[quantileRank(q, uint64(len(vals)))-1]
			got := h.Quantile(q)
			if rel := float64(got-want) / float64(want); rel < 0 || rel > 1.0/128 {
				t.Fatalf("%s: q=%g got %s; want %s (relative error %.4f: want 0 to 1/128)", name, q, got, want, rel)
			}
		}
		if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Count() != uint64(len(vals)) {
			t.Fatalf("%s: min/max/count %s/%s/%d; want %s/%s/%d", name, h.Min(), h.Max(), h.Count(), vals[0], vals[len(vals)-1], len(vals))
		}
	}
	f("uniform 1us..4min", func(r *rand.Rand) time.Duration {
		return time.Microsecond + time.Duration(r.Int64N(int64(4*time.Minute-time.Microsecond)))
	})
	f("log-uniform 1us..4min", func(r *rand.Rand) time.Duration {
		return time.Duration(1e3 * math.Pow(2.4e8, r.Float64()))
	})
	f("latency-like", func(r *rand.Rand) time.Duration {
		return time.Duration(50e3 + r.ExpFloat64()*100e3)
	})
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	t.Parallel()
	var a, b, all Histogram
	if a.Quantile(0.99) != 0 || a.Mean() != 0 || a.Max() != 0 {
		t.Fatalf("empty histogram must report zeros")
	}
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	a.Merge(&Histogram{})
	if a.counts != all.counts || a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() {
		t.Fatalf("merged histogram differs from one fed all values")
	}
	if q := a.Quantile(0.5); q < 495*time.Microsecond || q > 505*time.Microsecond {
		t.Fatalf("unexpected median %s; want about 500us", q)
	}
}

func TestSeriesHistQuantile(t *testing.T) {
	t.Parallel()
	var h seriesHist
	for i := int64(1); i <= 1000; i++ {
		h.record(i * 1000)
	}
	got := h.quantile(0.99, 1000)
	if rel := (float64(got) - 990e3) / 990e3; rel < 0 || rel > 1.0/32 {
		t.Fatalf("unexpected p99 %s; want 990us to 1/32 above", got)
	}
	// The rank ends exactly at a bucket's last value: the quantile is
	// that bucket, not the next one.
	var tail seriesHist
	for range 99 {
		tail.record(1000)
	}
	tail.record(1e6)
	if got := tail.quantile(0.99, 100); got > 1100 {
		t.Fatalf("p99 of 99 x 1us and 1 x 1ms is %s; want about 1us", got)
	}
	if h.quantile(0.99, 0) != 0 {
		t.Fatalf("empty series histogram must report 0")
	}
}

// TestHistogramLongLatencies: the longest latency a run can measure (a
// request queued up to -timeout, 1 min at most, then answered late) is
// recorded as it is, not clamped.
func TestHistogramLongLatencies(t *testing.T) {
	t.Parallel()
	var h Histogram
	h.Record(time.Millisecond)
	for range 99 {
		h.Record(110 * time.Second)
	}
	if p50 := h.Quantile(0.5); p50 != 110*time.Second {
		t.Fatalf("p50 of 99 x 110 s is %s; want 110s", p50)
	}
}
